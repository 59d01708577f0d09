// Which organizations have a vector index of their own is visible to every login (docs/security.md). Kept so on
// purpose: the catalog names them anyway, in the index's predicate and in search_tenant_indexes()'s source, so
// filtering that function's rows by organization would hide nothing. This pins what the docs say.
import { describe, expect, it } from "vitest";
import { useReleasedDatabase } from "./released-database";
import { organizationOf, seedTwoOrganizations } from "./tenant-tables";

const A = organizationOf("A");
const B = organizationOf("B");
const INDEX = "idx_chunk_tenant_list_test";

describe("the largest tenants' own indexes", () => {
  const released = useReleasedDatabase("tenant_index_list");

  it("are listed to the app login under another organization, as the catalog lists them", async () => {
    // As a calibration leaves them, for organization B.
    const migrator = await released.current.roles.connect("migrator");
    try {
      await seedTwoOrganizations(migrator);
      await migrator.query(`CREATE INDEX ${INDEX} ON "Chunk" ("id") WHERE "organizationId" = '${B}'`);
      // The shape core/search/tenant-indexes.ts writes: the entries as literal VALUES.
      await migrator.query(
        `CREATE OR REPLACE FUNCTION search_tenant_indexes()
           RETURNS TABLE (table_name text, dims integer, organization_id text, index_name text,
                          exact_rows integer, ef_search integer)
           LANGUAGE sql STABLE AS $$ VALUES ('Chunk', 3, '${B}', '${INDEX}', 100, 40) $$`,
      );
    } finally {
      await migrator.end();
    }
    const app = await released.current.roles.connect("app");
    try {
      await app.query("BEGIN");
      await app.query(`SELECT set_config('app.current_organization_id', $1, true)`, [A]);
      const listed = await app.query(`SELECT organization_id, index_name FROM search_tenant_indexes()`);
      expect(listed.rows).toEqual([{ organization_id: B, index_name: INDEX }]);
      const source = await app.query(
        `SELECT prosrc FROM pg_proc WHERE oid = 'search_tenant_indexes()'::regprocedure`,
      );
      expect(source.rows[0].prosrc).toContain(B);
      const definition = await app.query(`SELECT indexdef FROM pg_indexes WHERE indexname = $1`, [INDEX]);
      expect(definition.rows[0].indexdef).toContain(B);
      await app.query("ROLLBACK");
    } finally {
      await app.end();
    }
  });
});
