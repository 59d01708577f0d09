// What most dynamic-provider tests set up: the release's resources registered for one release database, and
// a provider host that reaches that database as an operator's `pulumi refresh` does (DIRECT_URL).
import { PROJECT_ROOT } from "../../../core";
import type { SchemaReleaseArgs } from "../../../infra/schema-release";
import type { ReleasePart } from "../../../infra/dynamic/types";
import { withClient } from "../../support/database";
import {
  createLegacySchema,
  generateLegacyData,
  type LegacyDefects,
  type LegacyScale,
} from "../../fixtures/legacy/generate";
import type { Inputs } from "../../infra/harness";
import { startProviderHost, type ProviderHost } from "./provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./release-database";
import { releaseInputs } from "./release-inputs";

/** The release's arguments a test chooses; the target (URL, owner role, database) is always `db`'s. */
export type ReleaseChoices = Omit<SchemaReleaseArgs, "directUrl" | "ownerRole" | "database">;

/** Registers a SchemaRelease named `name` for `db` under the mock runtime; each dynamic resource's inputs. */
export function releaseInputsFor(
  name: string,
  db: ReleaseDatabase,
  choices: ReleaseChoices,
): Promise<Record<ReleasePart, Inputs>> {
  return releaseInputs(name, {
    directUrl: db.migratorUrl,
    ownerRole: db.owner,
    database: db.name,
    ...choices,
  });
}

/** A configured provider host running in `cwd` whose reads reach `db` through DIRECT_URL. */
export async function hostReaching(db: ReleaseDatabase, cwd = PROJECT_ROOT): Promise<ProviderHost> {
  const host = await startProviderHost({ cwd, env: { DIRECT_URL: db.migratorUrl } });
  await host.configure();
  return host;
}

/**
 * A release database holding the Prisma-era schema and generated rows, owned by the owner role (as in a stack
 * the access layer set up), with pgvector created by the administrator.
 */
export async function createLegacyReleaseDatabase(
  scale: LegacyScale,
  defects?: LegacyDefects,
): Promise<ReleaseDatabase> {
  const db = await createReleaseDatabase({ extensions: true });
  await withClient(db.superuserUrl, async (c) => {
    await c.query(`SET ROLE ${db.owner}`);
    await createLegacySchema(c);
    await generateLegacyData(c, scale, defects);
  });
  return db;
}
