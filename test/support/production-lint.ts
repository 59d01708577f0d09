// The safety lint of one migration as `plan --environment production` reports it: the migration written into a
// copy of the fixture migrations, planned against the test database, and removed again, so that each call
// lints its own file alone.
import { rmSync } from "node:fs";
import { planRelease, type SafetyFinding, type SafetyReport } from "../../core";
import { writeMigration } from "./fixtures";

/** `level line rule` of each finding, sorted: what a test compares. */
export const findingPlaces = (findings: readonly SafetyFinding[]) =>
  findings.map((f) => `${f.level} ${f.line} ${f.rule}`).sort();

/**
 * A linter of one migration at a time in `dir`, against the database `url()` names; its files are named
 * `20250101000<n>_<suffix>.sql`, n counting up from `firstStep` (above the fixtures' own).
 */
export function productionLint(
  url: () => string,
  dir: string,
  suffix: string,
  firstStep: number,
): (up: string, down?: string) => Promise<SafetyReport> {
  let step = firstStep;
  return async (up, down) => {
    step += 1;
    const name = `20250101000${step}_${suffix}`;
    writeMigration(dir, `${name}.sql`, up, down);
    try {
      const plan = await planRelease({ databaseUrl: url(), migrationsDir: dir, environment: "production" });
      return plan.safety;
    } finally {
      rmSync(`${dir}/${name}.sql`);
    }
  };
}
