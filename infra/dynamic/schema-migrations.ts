// The migrations of a release as a Pulumi resource: its inputs carry each file's name and checksum, so
// `pulumi preview` lists the pending ones without a database; its outputs are the ledger as applied. The
// row-level security step runs with them (it follows the tables they create).
import type * as pulumi from "@pulumi/pulumi";
import type { LedgerProblem, RowLevelSecurityStatus } from "../../core";
import type { ReleasePartArgs } from "./part-args";
import { ReleasePartResource } from "./part-resource";
import type { Manifest } from "./types";

export interface SchemaMigrationsArgs extends ReleasePartArgs {
  /** Name → checksum of every migration file, without its exemption comments (core's buildReleaseManifest). */
  migrations: Manifest;
  /** Name → sha256 of the bytes of each file whose checksum is not that (types.ts MigrationBytesChecksums). */
  migrationBytesChecksums: Manifest;
  /** The row-level security mode, when the stack names one (empty otherwise). */
  rowLevelSecurity: Manifest;
}

export class SchemaMigrations extends ReleasePartResource<RowLevelSecurityStatus> {
  /** The ledger: name → checksum of each applied migration. */
  declare readonly migrations: pulumi.Output<Manifest>;
  declare readonly appliedMigrations: pulumi.Output<number>;
  declare readonly lastMigration: pulumi.Output<string | null>;
  /** Ledger problems and objects changed by hand since the last release (filled by refresh). */
  declare readonly drift: pulumi.Output<string[]>;
  /** Migrations whose ledger rows were deleted by hand, as the engine names them (filled by up and refresh). */
  declare readonly lostLedgerRows: pulumi.Output<LedgerProblem[]>;
  /** The row-level security mode (its status and pending tables are in `status` and `pending`). */
  declare readonly rowLevelSecurity: pulumi.Output<Manifest>;

  constructor(name: string, args: SchemaMigrationsArgs, opts?: pulumi.CustomResourceOptions) {
    const { migrations, migrationBytesChecksums, rowLevelSecurity, ...common } = args;
    const manifests = { migrations, migrationBytesChecksums, rowLevelSecurity };
    super("SchemaMigrations", "migrations", name, common, manifests, opts, [
      "appliedMigrations",
      "lastMigration",
      "drift",
      "lostLedgerRows",
    ]);
  }
}
