import { describe, expect, it } from "vitest";
import { useTestDatabase, withClient } from "./support/database";

describe("the test cluster", () => {
  const db = useTestDatabase();

  it("runs PostgreSQL 14 or newer", async () => {
    const version = await withClient(db.current.url, (c) =>
      c.query<{ server_version_num: string }>("SHOW server_version_num"),
    );
    expect(Number(version.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(140000);
  });

  it("has the real pgvector extension and answers a cosine-distance query", async () => {
    const rows = await withClient(db.current.url, async (c) => {
      await c.query("CREATE EXTENSION IF NOT EXISTS vector");
      await c.query("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))");
      await c.query("INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[1,1,0]')");
      const result = await c.query<{ id: number; distance: number }>(
        "SELECT id, embedding <=> '[1,0.1,0]' AS distance FROM items ORDER BY embedding <=> '[1,0.1,0]' LIMIT 3",
      );
      return result.rows;
    });
    expect(rows.map((r) => r.id)).toEqual([1, 3, 2]);
    expect(rows[0]!.distance).toBeCloseTo(1 - 1 / Math.sqrt(1.01), 6);
    expect(rows[2]!.distance).toBeCloseTo(1 - 0.1 / Math.sqrt(1.01), 6);
  });
});
