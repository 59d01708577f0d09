// The Pulumi diff agrees with the engine on exemption comments (core/migrations/checksums.ts): one added to an
// applied migration is no change, through @pulumi/pulumi's dynamic-provider host with the inputs the program
// registers; any other edit is refused, and a state whose ledger holds the bytes' checksum (recorded by an
// earlier release) stays valid.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureMigrationsCopy } from "../support/fixtures";
import type { ProviderHost, Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "exemption-migrations");
const COLOR = "20250101000200_widget_color";
const EXEMPTION = "-- neonhub-db:allow adding-field-with-default because the table holds a few rows\n";

describe("an exemption comment added to an applied migration, in the Pulumi diff", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;
  let file: string;
  let original: string;
  let id: string;
  let state: Props;
  let runs = 0;
  const programInputs = async () =>
    (
      await releaseInputsFor(`exemptions-${(runs += 1)}`, db, {
        migrationsDir: dir,
        environment: "production",
      })
    ).migrations;

  beforeAll(async () => {
    db = await createReleaseDatabase();
    dir = fixtureMigrationsCopy();
    file = path.join(dir, `${COLOR}.sql`);
    original = readFileSync(file, "utf8");
    host = await hostReaching(db);
    const created = await host.create(URN, await programInputs());
    id = created.id;
    state = created.properties;
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("passes check and diffs to no change", async () => {
    writeFileSync(file, original.replace("ALTER TABLE", `${EXEMPTION}ALTER TABLE`));
    const news = await programInputs();
    expect(Object.keys(news.migrationBytesChecksums as Props)).toEqual([COLOR]);
    expect((await host.check(URN, state, news)).failures).toEqual([]);
    expect(await host.diff(URN, id, state, news)).toEqual({ changes: "none", replaces: [] });
  });

  it("accepts a state whose ledger holds the sha256 of the file's bytes, as an earlier release recorded it", async () => {
    const bytes = createHash("sha256").update(readFileSync(file)).digest("hex");
    const earlier = { ...state, migrations: { ...(state.migrations as Props), [COLOR]: bytes } };
    const news = await programInputs();
    expect(await host.diff(URN, id, earlier, news)).toEqual({ changes: "none", replaces: [] });
    // The bytes' checksum is what lets it through: without it the diff refuses, as before.
    const { migrationBytesChecksums: _bytes, ...withoutBytes } = news;
    await expect(host.diff(URN, id, earlier, withoutBytes)).rejects.toThrow(
      `${COLOR}.sql was changed after it was applied`,
    );
  });

  it("refuses any other edit, in check and in diff", async () => {
    writeFileSync(
      file,
      original.replace("ALTER TABLE", `${EXEMPTION}ALTER TABLE`).replace("'blue'", "'red'"),
    );
    const news = await programInputs();
    const checked = await host.check(URN, state, news);
    expect(checked.failures.map((f) => f.reason).join("\n")).toContain(
      `${COLOR}.sql was changed after it was applied`,
    );
    await expect(host.diff(URN, id, state, news)).rejects.toThrow(
      `${COLOR}.sql was changed after it was applied`,
    );
    writeFileSync(file, original);
  });
});
