// What @pulumi/pulumi's dynamic-provider host prints of an error the provider throws: its check, diff, read and
// delete write `${error}: ${error.stack}` to stderr, which the Pulumi CLI shows under the stack, beside the
// message the engine shows as the resource's error. A user's mistake (the engine's refusal of a changed applied
// migration) is printed once, by the engine, with no stack trace; a bug (a recorded state the provider cannot
// read) keeps the stack trace of where it was thrown. Pulumi run outside the project, where the provider cannot
// find its handlers, is the operator's mistake too: said once, naming the folder to run from, with no trace.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { startProviderHost, type ProviderHost, type Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "host-error-migrations");
const WIDGETS = "20250101000100_widgets";
/** A stack frame as Node writes it. */
const FRAME = /^ {4}at /m;

/** How often `text` occurs in `output`. */
const occurrences = (output: string, text: string) => output.split(text).length - 1;

describe("the dynamic-provider host's line for an error", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;
  let id: string;
  let state: Props;

  beforeAll(async () => {
    db = await createReleaseDatabase();
    dir = fixtureMigrationsCopy();
    host = await hostReaching(db);
    const created = await host.create(
      URN,
      (await releaseInputsFor("host-errors", db, { migrationsDir: dir })).migrations,
    );
    id = created.id;
    state = created.properties;
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("prints a user's mistake once, as the resource's error, with no stack trace", async () => {
    const file = path.join(dir, `${WIDGETS}.sql`);
    const original = readFileSync(file, "utf8");
    writeFileSync(file, `${original}\n-- edited after it was applied\n`);
    try {
      const news = (await releaseInputsFor("host-errors-edited", db, { migrationsDir: dir })).migrations;
      const before = host.output().length;
      const refused = await host.diff(URN, id, state, news).then(
        () => undefined,
        (error: Error) => error,
      );
      // The engine's text, as before: the refusal naming the file.
      expect(refused?.message).toMatch(
        new RegExp(`^Migration ${WIDGETS}\\.sql was changed after it was applied\\.`),
      );
      const line = (await host.waitFor("ledger-mismatch error")).slice(before);
      expect(line).toBe("neonhub-db: ledger-mismatch error, shown as the resource's error\n");
      expect(line).not.toMatch(FRAME);
      expect(occurrences(line, "was changed after it was applied")).toBe(0);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("prints a bug with the stack trace of where it was thrown", async () => {
    // A recorded state without the release's step settings: the provider reads it as no version recorded it.
    const { steps: _steps, ...unreadable } = state;
    expect(_steps).toBeDefined();
    const before = host.output().length;
    await expect(host.delete(URN, id, { ...unreadable, dropOnDelete: true })).rejects.toThrow(
      "Cannot read properties of undefined",
    );
    const printed = (
      await host.waitFor(/TypeError: Cannot read properties of undefined[^\n]*\n {4}at /)
    ).slice(before);
    expect(printed).toMatch(/\n {4}at defaultReleaseSteps \(/);
    expect(printed).not.toContain(db.password);
  });

  it("prints pulumi run outside the project as the resource's error naming the folder, with no stack trace", async () => {
    // The host as the engine starts it in another folder, where the provider's handlers are not (and no
    // PULUMI_ROOT_DIRECTORY names the project): the provider's own code, serialized into the state, says so.
    const elsewhere = mkdtempSync(path.join(tmpdir(), "neonhub-elsewhere-"));
    const outside = await startProviderHost({ cwd: elsewhere });
    try {
      await outside.configure();
      const news = (await releaseInputsFor("host-errors-elsewhere", db, { migrationsDir: dir })).migrations;
      const refused = await outside.check(URN, {}, news).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(refused?.message).toContain(
        `The schema release provider cannot find ${path.join("infra", "dynamic", "handlers.ts")} under ${elsewhere}: pulumi ran outside the neonhub-db project. ` +
          "Run pulumi from the neonhub-db project directory, the folder that holds its Pulumi.yaml and infra/",
      );
      const line = await outside.waitFor("shown as the resource's error");
      expect(line).toBe(
        "neonhub-db: not run from the neonhub-db project directory, shown as the resource's error\n",
      );
      expect(line).not.toMatch(FRAME);
    } finally {
      await outside.stop();
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("wrote no password", () => {
    expect(host.output()).not.toContain(db.password);
  });
});
