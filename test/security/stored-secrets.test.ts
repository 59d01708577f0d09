// No secret stored in the open: API keys are kept as the hash of their token only, and the audit trail as a
// hash of the request, never its payload. The database refuses anything else, whoever writes it.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTableSecurity } from "./catalog";
import { useReleasedDatabase } from "./released-database";
import { inTransaction } from "./sessions";
import { hashOf, insertRow, organizationOf, seedTwoOrganizations, tenantTable } from "./tenant-tables";

const target = useReleasedDatabase("secrets");
let owner: Client;
let app: Client;

beforeAll(async () => {
  owner = await target.current.roles.connect("migrator");
  await seedTwoOrganizations(owner);
  app = await target.current.roles.connect("app");
});

afterAll(async () => {
  await app?.end();
  await owner?.end();
});

const A = organizationOf("A");
const RAW_TOKEN = "nhk_live_8f2d0c9a6b7e4f1d9c3b2a1e0f9d8c7b";
const NOT_A_HASH: [string, string][] = [
  ["a raw token", RAW_TOKEN],
  ["an upper-case digest", hashOf(RAW_TOKEN).toUpperCase()],
  ["a truncated digest", hashOf(RAW_TOKEN).slice(0, 40)],
  ["a salted password hash", "$2b$12$abcdefghijklmnopqrstuuTQz1nW3k1Jq3Zl9Yc2yq8m3b5x6Qe7Wm"],
];

describe("ApiKey.tokenHash", () => {
  it.each(NOT_A_HASH)("refuses %s, from the app and from the owner alike", async (_label, tokenHash) => {
    const row = { ...tenantTable("ApiKey").row("A", "extra"), tokenHash };
    const refused = { code: "23514", constraint: "ApiKey_tokenHash_check" };
    await expect(inTransaction(app, A, (c) => insertRow(c, "ApiKey", row))).rejects.toMatchObject(refused);
    await expect(inTransaction(owner, undefined, (c) => insertRow(c, "ApiKey", row))).rejects.toMatchObject(
      refused,
    );
  });

  it("takes the SHA-256 hex digest of the token, and no column holds the token itself", async () => {
    const row = { ...tenantTable("ApiKey").row("A", "extra"), tokenHash: hashOf(RAW_TOKEN) };
    await inTransaction(app, A, (c) => insertRow(c, "ApiKey", row), { rollback: true });
    const { rows } = await owner.query<{ column: string }>(
      `SELECT attname AS column FROM pg_attribute WHERE attrelid = '"ApiKey"'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(rows.map((r) => r.column)).toEqual([
      "id",
      "organizationId",
      "createdById",
      "name",
      "tokenHash",
      "scopes",
      "lastUsedAt",
      "expiresAt",
      "revokedAt",
      "createdAt",
      "updatedAt",
    ]);
  });
});

describe("AuditLog.requestHash", () => {
  it("refuses a request payload, and takes a SHA-256 hex digest or nothing", async () => {
    const entry = (requestHash: string | null) => ({
      ...tenantTable("AuditLog").row("A", "extra"),
      requestHash,
    });
    const payload = JSON.stringify({ email: "someone@example.com", apiKey: RAW_TOKEN });
    await expect(
      inTransaction(app, A, (c) => insertRow(c, "AuditLog", entry(payload))),
    ).rejects.toMatchObject({
      code: "23514",
      constraint: "AuditLog_requestHash_check",
    });
    await inTransaction(app, A, (c) => insertRow(c, "AuditLog", entry(hashOf(payload))), { rollback: true });
    await inTransaction(app, A, (c) => insertRow(c, "AuditLog", entry(null)), { rollback: true });
  });
});

describe("the schema", () => {
  // A column whose name says it holds a secret must be a hash; each other one is listed with its reason.
  const ALLOWED: Record<string, string> = {
    "ApiKey.tokenHash": "a SHA-256 digest, checked",
    "AuditLog.requestHash": "a SHA-256 digest, checked",
    "CampaignMetric.payload": "the metric's own data from the ad platform, not a request",
  };

  it("has no other column named for a token, password, secret, credential, request or payload", async () => {
    const tables = (await readTableSecurity(owner)).map((t) => t.table);
    const { rows } = await owner.query<{ column: string }>(
      `SELECT c.relname || '.' || a.attname AS column
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attname ~* '(token|password|passwd|secret|credential|payload|request|api_?key)'
        ORDER BY 1`,
      [tables],
    );
    expect(rows.map((r) => r.column)).toEqual(Object.keys(ALLOWED).sort());
  });
});
