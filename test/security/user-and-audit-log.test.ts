// The gaps of the app's access closed by migrations 20261202040000, 20261202040100 and 20261206010000: "User"
// behind its own policies (a session sees its organization's members and itself; sign-in goes through a narrow
// function), "AuditLog" append-only for everyone but the owner, and "EmbeddingSpace" (global, with no policy)
// changed by the owner only.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useReleasedDatabase } from "./released-database";
import { RLS_VIOLATION, inTransaction } from "./sessions";
import {
  SPACE_ID,
  hashOf,
  idOf,
  insertRow,
  organizationOf,
  seedTwoOrganizations,
  userOf,
} from "./tenant-tables";

const A = organizationOf("A");
const B = organizationOf("B");
const ONLY_B = "user-only-b";

const target = useReleasedDatabase("user_audit");
let owner: Client;
let app: Client;

/** A transaction of the app with the organization and the signed-in user set (undefined: left unset). */
function asApp<T>(organization: string | undefined, user: string | undefined, fn: (c: Client) => Promise<T>) {
  return inTransaction(app, organization, async (c) => {
    if (user !== undefined) await c.query("SELECT set_config('app.current_user_id', $1, true)", [user]);
    return fn(c as Client);
  });
}
const visibleUsers = (organization: string | undefined, user: string | undefined) =>
  asApp(organization, user, async (c) =>
    (await c.query<{ id: string }>(`SELECT id FROM "User" ORDER BY id`)).rows.map((r) => r.id),
  );

beforeAll(async () => {
  owner = await target.current.roles.connect("migrator");
  await seedTwoOrganizations(owner);
  await insertRow(owner, "User", { id: ONLY_B, email: "only-b@example.com", name: "Only B" });
  await insertRow(owner, "OrganizationMembership", { id: "m-only-b", organizationId: B, userId: ONLY_B });
  app = await target.current.roles.connect("app");
});

afterAll(async () => {
  await app?.end();
  await owner?.end();
});

describe('"User" as the app login', () => {
  it("shows the members of the organization set, never another organization's", async () => {
    expect(await visibleUsers(A, undefined)).toEqual([userOf("seed")]);
    expect(await visibleUsers(B, undefined)).toEqual([ONLY_B, userOf("seed")].sort());
  });

  it("shows the signed-in user itself, and nothing with neither setting (fail closed)", async () => {
    expect(await visibleUsers(undefined, userOf("cross"))).toEqual([userOf("cross")]);
    expect(await visibleUsers(A, userOf("cross"))).toEqual([userOf("cross"), userOf("seed")]);
    expect(await visibleUsers(undefined, undefined)).toEqual([]);
    expect(await visibleUsers("", "")).toEqual([]);
  });

  it("lets a user change and delete only itself", async () => {
    const rename = (user: string | undefined, id: string) =>
      asApp(A, user, (c) => c.query(`UPDATE "User" SET name = 'renamed' WHERE id = $1`, [id]));
    expect((await rename(undefined, userOf("seed"))).rowCount).toBe(0);
    expect((await rename(userOf("cross"), userOf("seed"))).rowCount).toBe(0);
    expect((await rename(userOf("seed"), userOf("seed"))).rowCount).toBe(1);
    await expect(
      asApp(A, userOf("seed"), (c) =>
        c.query(`UPDATE "User" SET id = 'someone-else' WHERE id = $1`, [userOf("seed")]),
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    const remove = await asApp(B, userOf("seed"), (c) =>
      c.query(`DELETE FROM "User" WHERE id = $1`, [ONLY_B]),
    );
    expect(remove.rowCount).toBe(0);
    const { rows } = await owner.query(`SELECT name FROM "User" WHERE id = $1`, [ONLY_B]);
    expect(rows).toEqual([{ name: "Only B" }]);
  });

  it("signs up a new user that names itself first; a row it may not see is not returned to it", async () => {
    const signUp = (user: string | undefined, id: string) =>
      asApp(undefined, user, (c) => insertRow(c, "User", { id, email: `${id}@example.com` }));
    expect(await signUp("new-user", "new-user")).toHaveLength(1);
    await expect(signUp(undefined, "anonymous-user")).rejects.toMatchObject(RLS_VIOLATION);
    // Without RETURNING (an invitation, before the membership exists) the insert itself is allowed.
    await asApp(A, undefined, async (c) => {
      await c.query(`INSERT INTO "User" (id, email) VALUES ('invited', 'invited@example.com')`);
      await c.query(
        `INSERT INTO "OrganizationMembership" ("organizationId", "userId") VALUES ($1, 'invited')`,
        [A],
      );
    });
    expect(await visibleUsers(A, undefined)).toContain("invited");
  });

  it("finds the user to sign in by email through user_id_for_email(), its id only", async () => {
    const lookup = (email: string) =>
      asApp(undefined, undefined, (c) => c.query(`SELECT user_id_for_email($1) AS id`, [email]));
    expect((await lookup("only-b@example.com")).rows).toEqual([{ id: ONLY_B }]);
    expect((await lookup("nobody@example.com")).rows).toEqual([{ id: null }]);
  });
});

describe('"AuditLog" is append-only for the app', () => {
  const entry = (id: string, organizationId: string) => ({
    id,
    organizationId,
    actorType: "user",
    actorId: userOf("seed"),
    action: "campaign.update",
    requestHash: hashOf(id),
  });
  const APPEND_ONLY = { code: "42501", message: expect.stringMatching(/^AuditLog is append-only/) };

  it("inserts and reads its organization's entries", async () => {
    expect(await asApp(A, undefined, (c) => insertRow(c, "AuditLog", entry("audit-a-1", A)))).toHaveLength(1);
    await expect(
      asApp(A, undefined, (c) => insertRow(c, "AuditLog", entry("audit-b-1", B))),
    ).rejects.toMatchObject(RLS_VIOLATION);
    const { rows } = await asApp(A, undefined, (c) =>
      c.query(`SELECT id FROM "AuditLog" WHERE id = 'audit-a-1'`),
    );
    expect(rows).toEqual([{ id: "audit-a-1" }]);
  });

  it("refuses every UPDATE and DELETE, even of its own entries and even when no row matches", async () => {
    for (const sql of [
      `UPDATE "AuditLog" SET action = 'nothing happened' WHERE id = 'audit-a-1'`,
      `DELETE FROM "AuditLog" WHERE id = 'audit-a-1'`,
      `DELETE FROM "AuditLog" WHERE false`,
    ]) {
      await expect(
        asApp(A, undefined, (c) => c.query(sql)),
        sql,
      ).rejects.toMatchObject(APPEND_ONLY);
    }
    const { rows } = await owner.query(`SELECT action FROM "AuditLog" WHERE id = 'audit-a-1'`);
    expect(rows).toEqual([{ action: "campaign.update" }]);
  });

  it("is pruned by the owner: the retention job (docs/security.md), with DIRECT_URL", async () => {
    await owner.query(
      `UPDATE "AuditLog" SET "createdAt" = timezone('UTC', now()) - interval '400 days' WHERE id = 'audit-a-1'`,
    );
    const pruned = await owner.query(
      `DELETE FROM "AuditLog" WHERE "createdAt" < timezone('UTC', now()) - interval '365 days'`,
    );
    expect(pruned.rowCount).toBe(1);
  });
});

describe('"EmbeddingSpace" is changed by its owner only', () => {
  const OWNER_ONLY = {
    code: "42501",
    message: expect.stringMatching(
      /^EmbeddingSpace is the release's: \S+ may read embedding spaces, not (?:INSERT|UPDATE|DELETE)$/,
    ),
  };
  const chunksOf = async (organization: string) =>
    (await owner.query(`SELECT count(*)::int AS n FROM "Chunk" WHERE "organizationId" = $1`, [organization]))
      .rows[0].n as number;

  it("refuses the app's INSERT, UPDATE and DELETE from any organization's session, even when no row matches", async () => {
    const before = await chunksOf(A);
    expect(before).toBeGreaterThan(0);
    for (const sql of [
      `DELETE FROM "EmbeddingSpace" WHERE id = '${SPACE_ID}'`,
      `UPDATE "EmbeddingSpace" SET model = 'hijacked' WHERE id = '${SPACE_ID}'`,
      `INSERT INTO "EmbeddingSpace" (id, provider, model, dimension) VALUES ('rogue', 'x', 'y', 8)`,
      `DELETE FROM "EmbeddingSpace" WHERE false`,
    ]) {
      await expect(
        asApp(B, undefined, (c) => c.query(sql)),
        sql,
      ).rejects.toMatchObject(OWNER_ONLY);
    }
    // The cascade that would have deleted organization A's chunks never ran.
    expect(await chunksOf(A)).toBe(before);
    const { rows } = await owner.query(`SELECT id, model FROM "EmbeddingSpace" ORDER BY id`);
    expect(rows).toEqual([{ id: SPACE_ID, model: "tiny" }]);
  });

  it("lets the app read the spaces and embed its rows in them", async () => {
    const { rows } = await asApp(A, undefined, (c) => c.query(`SELECT id FROM "EmbeddingSpace"`));
    expect(rows).toEqual([{ id: SPACE_ID }]);
    const chunk = idOf("Chunk", "A", "seed");
    const changed = await asApp(A, undefined, (c) =>
      c.query(`UPDATE "Chunk" SET embedding = '[0.3,0.2,0.1]' WHERE id = $1`, [chunk]),
    );
    expect(changed.rowCount).toBe(1);
  });

  it("is managed by the owner: the seed sets, with DIRECT_URL", async () => {
    await owner.query(
      `INSERT INTO "EmbeddingSpace" (id, provider, model, dimension) VALUES ('owned', 'x', 'y', 8)`,
    );
    await owner.query(`UPDATE "EmbeddingSpace" SET model = 'z' WHERE id = 'owned'`);
    expect((await owner.query(`DELETE FROM "EmbeddingSpace" WHERE id = 'owned'`)).rowCount).toBe(1);
  });
});
