// The migration safety lint's findings, for people: one block per finding, naming file, line, rule, table
// size, the lock it takes and the safer form (or, for what no exemption accepts, the fix).
import { findingPlace, safetyErrorsFix, type SafetyReport } from "../core";

export function renderSafety(report: SafetyReport): string[] {
  if (report.findings.length === 0) return [];
  const lines = [
    `  safety (${report.environment}): ${report.errors} error(s), ${report.findings.length} finding(s)`,
  ];
  for (const f of report.findings) {
    const table = f.table ? ` on ${f.table}${f.tableSize ? ` (${f.tableSize})` : ""}` : "";
    lines.push(`    ${f.level}: ${findingPlace(f)} ${f.rule}${table}: ${f.problem}`);
    if (f.detail) lines.push(`      squawk: ${f.detail}`);
    if (f.level === "exempted") {
      lines.push(`      accepted: ${f.exemption}`);
      continue;
    }
    if (f.lock === null) lines.push(`      fix: ${f.saferForm}`);
    else lines.push(`      lock: ${f.lock}`, `      safer: ${f.saferForm}`);
  }
  if (report.errors > 0) {
    const run = report.runs === "up" ? "release" : "revert";
    lines.push(`    An error blocks this ${report.environment} ${run}. ${safetyErrorsFix(report.findings)}`);
  }
  return lines;
}
