// What `pulumi up` prints of the release, through @pulumi/pulumi's dynamic-provider host with the inputs the
// program registers, against a real PostgreSQL: a safety-lint warning that check printed is not printed again
// by the update's apply in the same host (one that check did not print still is), and a failed migration's
// fix names `pulumi up` as what to run again, where the CLI's names its apply, and quotes its statement with
// any password literal masked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import type { ProviderHost, Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "up-messages-migrations");
const CHECKED = "20250101000400_widget_name";
const UNCHECKED = "20250101000500_widget_id_name";
const BROKEN = "20250101000600_broken";
/** A blocking index on a table with rows: a warning outside production. */
const blockingIndex = (name: string, columns: string) => `CREATE INDEX ${name} ON "Widget" (${columns});`;

/** How often `text` occurs in `output`. */
const occurrences = (output: string, text: string) => output.split(text).length - 1;

describe("pulumi up's messages of the release", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;
  let id: string;
  let state: Props;
  let runs = 0;
  const programInputs = async () =>
    (await releaseInputsFor(`up-messages-${(runs += 1)}`, db, { migrationsDir: dir })).migrations;

  /** An update that check passes and the apply fails: the error it ends with (undefined when it did not fail). */
  const failedUpdate = async (): Promise<Error | undefined> => {
    const news = await programInputs();
    expect((await host.check(URN, state, news)).failures).toEqual([]);
    return host.update(URN, id, state, news).then(
      () => undefined,
      (error: Error) => error,
    );
  };

  beforeAll(async () => {
    db = await createReleaseDatabase();
    dir = fixtureMigrationsCopy();
    host = await hostReaching(db);
    const created = await host.create(URN, await programInputs());
    id = created.id;
    state = created.properties;
    await withClient(db.superuserUrl, (c) =>
      c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 200) g`,
      ),
    );
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("prints a lint warning once: from check, not again from the update's apply", async () => {
    writeMigration(dir, `${CHECKED}.sql`, blockingIndex("widget_name", "name"));
    const news = await programInputs();
    const checked = await host.check(URN, state, news);
    expect(checked.failures).toEqual([]);
    const updated = await host.update(URN, id, state, checked.inputs);
    state = updated.properties;
    // The apply's line after its lint warnings: the output up to it holds any warning it logged.
    const output = await host.waitFor(`migration ${CHECKED}: applied in`);
    expect(occurrences(output, `${CHECKED}.sql:2 require-concurrent-index-creation`)).toBe(1);
    expect(output).toContain(`warning: ${CHECKED}.sql:2 require-concurrent-index-creation on "Widget"`);
    expect(output).not.toContain(`safety lint: ${CHECKED}.sql`);
  });

  it("still prints a warning check did not print (an update without a check in this host)", async () => {
    writeMigration(dir, `${UNCHECKED}.sql`, blockingIndex("widget_id_name", "id, name"));
    const news = await programInputs();
    const updated = await host.update(URN, id, state, news);
    state = updated.properties;
    const output = await host.waitFor(`migration ${UNCHECKED}: applied in`);
    expect(output).toContain(`warning: safety lint: ${UNCHECKED}.sql:2 require-concurrent-index-creation`);
    expect(occurrences(output, `${UNCHECKED}.sql:2 require-concurrent-index-creation`)).toBe(1);
  });

  it("a failed migration's fix says to run the stack's `pulumi up` again, not apply", async () => {
    writeMigration(dir, `${BROKEN}.sql`, 'ALTER TABLE "Widget" DROP COLUMN no_such_column;');
    const failed = await failedUpdate();
    expect(failed?.message).toContain(`Migration ${BROKEN}.sql failed at line 2`);
    expect(failed?.message).toContain(
      "Its transaction was rolled back (nothing of it is applied). Fix the file and run `pulumi up --stack test` again.",
    );
    expect(failed?.message).not.toContain("run apply again");
  });

  it("a failed migration's password literal is masked in the failure and the host's output", async () => {
    const password = "Jd5Wq Pk9Xs";
    // The migrator may not create roles: the statement fails, quoted back in the failure.
    writeMigration(dir, `${BROKEN}.sql`, `CREATE ROLE up_messages_reader LOGIN PASSWORD '${password}';`);
    const failed = await failedUpdate();
    expect(failed?.message).toContain(`Migration ${BROKEN}.sql failed at line 2`);
    expect(failed?.message).toContain("2 | CREATE ROLE up_messages_reader LOGIN PASSWORD '****';");
    for (const part of password.split(" ")) {
      expect(failed?.message).not.toContain(part);
      expect(host.output()).not.toContain(part);
    }
  });
});
