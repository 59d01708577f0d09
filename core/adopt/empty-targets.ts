// Whether the pre-flight has anything to look for: on a database where no schema the pending migrations
// create exists and the schemas they create objects in (and the current schema, where a Prisma-era schema
// would be) hold no table, type or function, no object can collide and no legacy schema is there. One cheap
// catalog read then spares the collision lookups and the legacy inspection (the first apply of a new
// database, which is also when they would cost the most: the catalog caches are cold).
import type { ClientBase } from "pg";
import type { CreatedObject } from "./created-objects";

/** True when the schemas the objects go into are all empty or missing (the current one included). */
export async function targetSchemasEmpty(
  client: ClientBase,
  objects: readonly CreatedObject[],
): Promise<boolean> {
  const created = objects.filter((o) => o.kind === "schema").map((o) => o.name);
  const targets = [...new Set(objects.filter((o) => o.kind !== "schema" && o.schema).map((o) => o.schema!))];
  const result = await client.query<{ empty: boolean }>(
    `WITH targets AS (
       SELECT oid FROM pg_namespace WHERE nspname = ANY ($2::text[]) OR nspname = current_schema()
     )
     SELECT NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ANY ($1::text[]))
        AND NOT EXISTS (SELECT 1 FROM pg_class WHERE relnamespace IN (SELECT oid FROM targets))
        AND NOT EXISTS (SELECT 1 FROM pg_type WHERE typnamespace IN (SELECT oid FROM targets))
        AND NOT EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace IN (SELECT oid FROM targets)) AS empty`,
    [created, targets],
  );
  return result.rows[0]?.empty === true;
}
