// Health behind a lock on "EmbeddingSpace": the vector-index readings join each row's space there, and a lock
// held past --lock-timeout left the whole report failing. It now leaves those readings unread, as an action
// naming the holder and its fix in the words of every lock timeout, and gives the rest of the report; the
// embedding scans, which join the same table, are not made to wait for it again. Real sessions, real locks.
import { Client } from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { checkHealth } from "../../core";
import { renderHealth } from "../../cli/render-health";
import { runCli } from "../support/cli";
import { useReleasedDatabase } from "../security/released-database";

const target = useReleasedDatabase("hspaces", { seedSets: ["demo"] });
const migrator = () => target.current.roles.url("migrator");
let holder: Client | undefined;

afterEach(async () => {
  await holder?.end();
  holder = undefined;
});

describe('health while another session holds a lock on "EmbeddingSpace"', () => {
  it("leaves the vector readings unread, names the holder, and gives the rest of the report", async () => {
    holder = new Client({ connectionString: target.current.db.url, application_name: "space-editor" });
    await holder.connect();
    const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    await holder.query('BEGIN; LOCK TABLE "EmbeddingSpace" IN ACCESS EXCLUSIVE MODE');

    const report = await checkHealth({ databaseUrl: migrator(), lockTimeoutMs: 2_000 });
    const unread = report.findings.filter((f) => f.subject === "vector indexes");
    expect(unread).toEqual([
      {
        severity: "action",
        subject: "vector indexes",
        problem: expect.stringContaining(
          `another session held a lock on "EmbeddingSpace" longer than --lock-timeout, and the readings join each row's space there; ` +
            `it waited for AccessShareLock on "EmbeddingSpace", blocked by pid ${pid} (holding AccessExclusiveLock; application "space-editor"`,
        ),
        action: expect.stringMatching(
          new RegExp(
            `^run health again when that session has finished, or raise --lock-timeout\\. If that session is stuck, end it with SELECT pg_terminate_backend\\(${pid}\\)`,
          ),
        ),
      },
    ]);
    expect(report.healthy).toBe(false);
    // The recorded indexes are listed, their rows now not read (not 0).
    const vector = report.indexes.filter((i) => i.kind === "vector");
    expect(vector.length).toBeGreaterThan(0);
    for (const index of vector) {
      expect(index.rowsAtBuild).toBeGreaterThan(0);
      expect(index.rowsNow).toBeNull();
    }
    expect(renderHealth(report)).toMatch(/built on \d+ rows, rows now not read/);
    // The embedding scans meet the same lock and say so without waiting for it again; the rest is read.
    expect(report.zeroEmbeddings.map((r) => [r.table, r.state, r.lockedTable])).toEqual(
      ["Chunk", "Message", "BrandVoice"].map((t) => [t, "locked", "EmbeddingSpace"]),
    );
    expect(report.tables.map((t) => t.name)).toEqual(expect.arrayContaining(["Chunk", "Message"]));
    expect(report.indexes.filter((i) => i.kind === "hot-path").every((i) => i.exists)).toBe(true);
    expect(report.cluster.connections.inUse).toBeGreaterThanOrEqual(2);

    // The CLI's report names the health to run again with the options it was given: the URL (without its
    // password) and the --lock-timeout the scans waited by.
    const cli = await runCli(["health", "--database-url", migrator(), "--lock-timeout", "2", "--json"]);
    const notes = (
      JSON.parse(cli.stdout) as { findings: { subject: string; action: string }[] }
    ).findings.filter((f) => f.subject === "Chunk" && /once the lock is released/.test(f.action));
    expect(notes).toHaveLength(1);
    expect(notes[0]!.action).toMatch(
      /^run `neonhub-db health --database-url postgresql:\/\/[^:@\s]+@\S+ --lock-timeout 2` \(the password of --database-url is left out: .*\) again once the lock is released /,
    );

    await holder.query("ROLLBACK");
    const after = await checkHealth({ databaseUrl: migrator(), lockTimeoutMs: 2_000 });
    expect(after.findings.filter((f) => f.subject === "vector indexes")).toEqual([]);
    for (const index of after.indexes.filter((i) => i.kind === "vector")) {
      expect(index.rowsNow).toBe(index.rowsAtBuild);
    }
  });
});
