// The CLI's failing paths that least privilege adds: the app and read-only logins (known passwords) running
// the release commands. The ledger is the migrator's: they are refused, told what to use instead, and their
// password appears nowhere in what is printed. (test/cli covers the other failing paths the same way.)
import { describe, expect, it } from "vitest";
import { runCli, type CliRun } from "../support/cli";
import type { Login } from "../support/roles";
import { useReleasedDatabase } from "./released-database";

const target = useReleasedDatabase("clisec");

function expectNoPassword(run: CliRun) {
  const { password } = target.current.roles;
  for (const text of [run.stdout, run.stderr]) {
    expect(text).not.toContain(password);
    expect(text).not.toContain(encodeURIComponent(password));
  }
}

const asLogin = (login: Login, args: string[]) =>
  runCli(args, { DATABASE_URL: target.current.roles.url(login) });

describe.each<Login>(["app", "readonly"])("neonhub-db as the %s login", (login) => {
  it.each(["plan", "status", "verify", "apply"])(
    "%s is refused with the fix, and no password",
    async (command) => {
      const run = await asLogin(login, [command]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `Permission denied for user "${target.current.roles.names[login]}": permission denied for schema neonhub_release`,
      );
      // The fix names the command that ran (status is no release) and the migrator's login.
      expect(run.stderr).toContain(`fix: Run ${command} as the migrator: --database-url "$DIRECT_URL"`);
      expectNoPassword(run);
    },
  );

  it("apply --owner-role cannot make it the owner", async () => {
    const run = await asLogin(login, ["apply", "--owner-role", target.current.roles.names.owner]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--owner-role ".*": user ".*" may not act as that role/);
    expectNoPassword(run);
  });

  it("--json errors, with the URL given as a flag, carry no password either", async () => {
    const run = await runCli(["status", "--json", "--database-url", target.current.roles.url(login)], {});
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: { code: "permission", fix: expect.stringMatching(/^Run status as the migrator: /) },
    });
    expectNoPassword(run);
  });
});

describe("neonhub-db as the migrator", () => {
  it("status and verify read the ledger, and print no password", async () => {
    const status = await asLogin("migrator", ["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("20250126001400_row_level_security");
    expect(status.stdout).toContain(`${target.current.roles.names.migrator}:****@`);
    const verify = await asLogin("migrator", ["verify"]);
    expect(verify.code).toBe(0);
    for (const run of [status, verify]) expectNoPassword(run);
  });
});
