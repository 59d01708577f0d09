// The enforcement mode from the command line, as `npm run local` and operators use it: the migrator turns
// enforcement off and on with --row-level-security, plan/apply/status say so, and a run without the flag
// keeps the recorded mode.
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { useReleasedDatabase } from "./released-database";
import { POLICY_GLOBAL_TABLES, TENANT_TABLES } from "./tenant-tables";

/** The tenant tables and "User": every table with a policy, which the mode turns on and off. */
const POLICY_TABLES = TENANT_TABLES.length + POLICY_GLOBAL_TABLES.length;

const target = useReleasedDatabase("rlscli");
const cli = (...args: string[]) => runCli(args, { DATABASE_URL: target.current.roles.url("migrator") });

describe("neonhub-db --row-level-security", () => {
  it("plan off lists each tenant table it would change, and exits 2", async () => {
    const run = await cli("plan", "--row-level-security", "off");
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("  row-level security:\n");
    // As quote_ident writes the table, like every other report line: "Chunk" bare is another table in SQL.
    expect(run.stdout).toContain('    ~ public."Chunk": update (off: policies kept, not enforced)');
    expect(run.stdout).toContain('    ~ public."User": update (off: policies kept, not enforced)');
    expect(run.stdout.match(/: update \(off: /g)).toHaveLength(POLICY_TABLES);
  });

  it("plan --json keeps each item's raw name, with its table's schema and name", async () => {
    const run = await cli("plan", "--row-level-security", "off", "--json");
    expect(run.code).toBe(2);
    const plan = JSON.parse(run.stdout) as {
      rowLevelSecurity: { name: string; table: { schema: string; name: string } }[];
    };
    expect(plan.rowLevelSecurity).toHaveLength(POLICY_TABLES);
    expect(plan.rowLevelSecurity.find((i) => i.name === "Chunk")?.table).toEqual({
      schema: "public",
      name: "Chunk",
    });
  });

  it("apply off changes them; status, and runs without the flag, keep off", async () => {
    const apply = await cli("apply", "--row-level-security", "off");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('  public."Chunk": update in ');
    const again = await cli("apply");
    expect(again.stdout).toMatch(/^Nothing changed/);
    const status = await cli("status");
    expect(status.stdout).toMatch(
      /row-level security: *\n +row-level security +mode=off tables=33 enforced=0 /,
    );
    expect((await cli("plan")).code).toBe(0);
  });

  it("apply enforce turns them back on", async () => {
    const apply = await cli("apply", "--row-level-security", "enforce", "--json");
    expect(apply.code).toBe(0);
    const result = JSON.parse(apply.stdout) as {
      rowLevelSecurity: { name: string; table: unknown; details: unknown }[];
    };
    expect(result.rowLevelSecurity).toHaveLength(POLICY_TABLES);
    expect(result.rowLevelSecurity[0]?.details).toEqual({ rowLevelSecurity: "enabled" });
    const chunk = result.rowLevelSecurity.find((i) => i.name === "Chunk");
    expect(chunk?.table).toEqual({ schema: "public", name: "Chunk" });
    expect((await cli("status")).stdout).toContain("mode=enforce tables=33 enforced=33");
  });

  it("refuses any other mode before connecting", async () => {
    const run = await cli("apply", "--row-level-security", "strict");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--row-level-security must be one of enforce, off (got "strict")');
  });
});
