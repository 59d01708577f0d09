// A released database whose schema was changed by hand under the release (a column renamed, a restore that
// left a column of an older schema): every command that reads what the release created reports the drift as
// one error naming what is gone and pointing to verify, never as an unexpected error.
import { describe, expect, it } from "vitest";
import { useReleasedDatabase } from "../security/released-database";
import { runCli } from "../support/cli";
import { withClient } from "../support/database";

const target = useReleasedDatabase("schemadrift");
const cli = (...args: string[]) => runCli(args, { DATABASE_URL: target.current.roles.url("migrator") });

interface CliError {
  error: { code: string; message: string; fix: string | null };
}

/** Runs `fn` while `change` is in force on the database, then `undo` (as the cluster's superuser, a hand). */
async function whileChanged(change: string, undo: string, fn: () => Promise<void>): Promise<void> {
  await withClient(target.current.db.url, (c) => c.query(change));
  try {
    await fn();
  } finally {
    await withClient(target.current.db.url, (c) => c.query(undo));
  }
}

async function expectDrift(command: string, missing: string): Promise<void> {
  const run = await cli(command, "--json");
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).not.toContain("unexpected error");
  const { error } = JSON.parse(run.stdout) as CliError;
  expect(error.code).toBe("schema-drift");
  expect(error.message).toContain("The live schema differs from the release's");
  expect(error.message).toContain(`The release created ${missing}, which the database no longer has.`);
  // verify has no repair statement for a table or column: the fix says what does restore one.
  expect(error.fix).not.toMatch(/its repair/);
  expect(error.fix).toContain("rename it back");
  expect(error.fix).toContain("restore it");
  expect(error.fix).toContain("new migration");
  // The message shows the names as quote_ident does; the fix's statement quotes every name.
  const [kind, path] = missing.split(" ");
  const [schema, table, column] = path!.split(".").map((name) => name.replace(/^"(.*)"$/, "$1"));
  expect(error.fix).toContain(
    kind === "column"
      ? `ALTER TABLE "${schema}"."${table}" RENAME COLUMN "<its name now>" TO "${column}"`
      : `ALTER TABLE "${schema}"."<its name now>" RENAME TO "${table}"`,
  );
}

describe("a column of the release gone from the live schema", () => {
  it("plan, status, health and apply name it as drift; verify shows it; all work again once it is back", async () => {
    await whileChanged(
      `ALTER TABLE "Chunk" RENAME COLUMN "embedding" TO "emb"`,
      `ALTER TABLE "Chunk" RENAME COLUMN "emb" TO "embedding"`,
      async () => {
        for (const command of ["plan", "status", "health", "apply"]) {
          await expectDrift(command, 'column public."Chunk".embedding');
        }
        const verify = await cli("verify");
        expect(verify.code).toBe(2);
        expect(verify.stdout).toContain(
          'column public."Chunk".embedding was created by the release but is gone',
        );
      },
    );
    expect((await cli("plan")).code).toBe(0);
    expect((await cli("status")).code).toBe(0);
  });

  it("a column an older schema lacked (a half-old restore) is named the same way", async () => {
    await whileChanged(
      `ALTER TABLE "Chunk" RENAME COLUMN "embeddingSpaceId" TO "spaceId"`,
      `ALTER TABLE "Chunk" RENAME COLUMN "spaceId" TO "embeddingSpaceId"`,
      async () => {
        await expectDrift("plan", 'column public."Chunk"."embeddingSpaceId"');
        await expectDrift("status", 'column public."Chunk"."embeddingSpaceId"');
      },
    );
  });
});

describe("Agent.name renamed to agentName by hand", () => {
  it("the fix renames it back, and verify, which it points to for the new name, has no repair for it", async () => {
    await whileChanged(
      `ALTER TABLE "Agent" RENAME COLUMN name TO "agentName"`,
      `ALTER TABLE "Agent" RENAME COLUMN "agentName" TO name`,
      async () => {
        for (const command of ["plan", "status", "health", "apply"]) {
          await expectDrift(command, 'column public."Agent".name');
        }
        const verify = await cli("verify", "--json");
        expect(verify.code).toBe(2);
        expect(verify.stdout).toContain("column public.Agent.agentName");
        expect(verify.stdout).not.toMatch(/RENAME COLUMN/);
      },
    );
    expect((await cli("plan")).code).toBe(0);
  });
});

describe("a table of the release renamed by hand", () => {
  it("plan, status, health and apply name it as drift, though no read of theirs touches it; verify shows both names", async () => {
    await whileChanged(
      `ALTER TABLE "Brand" RENAME TO "BrandOld"`,
      `ALTER TABLE "BrandOld" RENAME TO "Brand"`,
      async () => {
        for (const command of ["plan", "status", "health", "apply"]) {
          await expectDrift(command, 'table public."Brand"');
        }
        const verify = await cli("verify");
        expect(verify.code).toBe(2);
        expect(verify.stdout).toContain('table public."Brand" was created by the release but is gone');
        expect(verify.stdout).toContain('table public."BrandOld" exists but was not created by the release');
      },
    );
    expect((await cli("plan")).code).toBe(0);
    expect((await cli("health")).code).toBe(0);
  });
});

describe("a column of the release that no command reads, renamed by hand", () => {
  it("plan, status, health and apply name it as drift; once it is back, plan and health pass", async () => {
    await whileChanged(
      `ALTER TABLE "Brand" RENAME COLUMN "name" TO "brandName"`,
      `ALTER TABLE "Brand" RENAME COLUMN "brandName" TO "name"`,
      async () => {
        for (const command of ["plan", "status", "health", "apply"]) {
          await expectDrift(command, 'column public."Brand".name');
        }
      },
    );
    expect((await cli("plan")).code).toBe(0);
    expect((await cli("health")).code).toBe(0);
  });

  it("a table renamed is named alone, not with each of its columns", async () => {
    await whileChanged(
      `ALTER TABLE "Brand" RENAME TO "BrandOld"`,
      `ALTER TABLE "BrandOld" RENAME TO "Brand"`,
      async () => {
        const run = await cli("plan", "--json");
        const { error } = JSON.parse(run.stdout) as CliError;
        expect(error.message).toContain(
          'The release created table public."Brand", which the database no longer has.',
        );
        expect(error.message).not.toContain('column public."Brand".');
      },
    );
  });
});
