// A test database as a stack has it: the access layer's roles and grants, then the project's release applied
// by the migrator acting as the owner, through the release engine.
import { afterAll, beforeAll } from "vitest";
import { applyRelease, DEFAULT_MIGRATIONS_DIR, type ReleaseResult, type ReleaseStep } from "../../core";
import { defaultReleaseSteps, type DefaultStepOptions } from "../../core";
import { createTestDatabase, dropTestDatabase, type TestDatabase } from "../support/database";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";

export interface ReleasedDatabase {
  db: TestDatabase;
  roles: AccessRoles;
}

/** Applies the release as the migrator, the way `pulumi up` and `neonhub-db apply` do. */
export function applyAsMigrator(
  target: ReleasedDatabase,
  steps: readonly ReleaseStep[] = defaultReleaseSteps({ seedSets: [] }),
): Promise<ReleaseResult> {
  return applyRelease({
    databaseUrl: target.roles.url("migrator"),
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    ownerRole: target.roles.names.owner,
    steps,
  });
}

/** A released database for the enclosing describe block (or file), dropped with its roles afterwards. */
export function useReleasedDatabase(
  prefix: string,
  steps?: Partial<DefaultStepOptions>,
): { readonly current: ReleasedDatabase } {
  const holder: { current?: ReleasedDatabase } = {};
  beforeAll(async () => {
    const db = await createTestDatabase(prefix);
    holder.current = { db, roles: await createAccessRoles(db) };
    await applyAsMigrator(holder.current, defaultReleaseSteps({ seedSets: [], ...steps }));
  });
  afterAll(async () => {
    if (!holder.current) return;
    await dropTestDatabase(holder.current.db);
    await dropAccessRoles(holder.current.db, holder.current.roles);
  });
  return {
    get current(): ReleasedDatabase {
      if (!holder.current) throw new Error("useReleasedDatabase(): the database exists only inside tests");
      return holder.current;
    },
  };
}
