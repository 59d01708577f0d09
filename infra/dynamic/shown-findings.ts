// The safety lint's findings the migrations' check has printed in this provider host. In a `pulumi up` the
// engine calls check, then create or update, in the same host process; check cannot tell a preview from an up,
// so it prints every finding, and apply, which logs its warnings for the CLI, would print each one again as
// "warning: safety lint: ...". Apply skips those check printed for the same database, file and checksum (a file
// changed between them is refused anyway: refuseChangedFiles), and still says what check did not show.
import type { SafetyFinding } from "../../core";
import type { Manifest } from "./types";

const shown = new Set<string>();

/** One finding of one version of a migration file on one database, as both methods name it. */
function findingKey(target: string, finding: SafetyFinding, checksums: Manifest): string | undefined {
  const checksum = checksums[finding.file.replace(/\.sql$/, "")];
  if (checksum === undefined) return undefined;
  const { file, section, line, rule, level, table } = finding;
  return JSON.stringify([target, file, checksum, section, line, rule, level, table]);
}

/** check: these findings are printed, for the migration files with these checksums (name without .sql). */
export function rememberShownFindings(
  target: string,
  findings: readonly SafetyFinding[],
  checksums: Manifest,
): void {
  for (const finding of findings) {
    const key = findingKey(target, finding, checksums);
    if (key !== undefined) shown.add(key);
  }
}

/** apply: whether check printed `finding` for the files with these checksums (ReleaseOptions.safetyFindingShown). */
export function shownByCheck(target: string, checksums: Manifest): (finding: SafetyFinding) => boolean {
  return (finding) => {
    const key = findingKey(target, finding, checksums);
    return key !== undefined && shown.has(key);
  };
}
