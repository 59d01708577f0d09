// The migrations of a release as a Pulumi resource: its inputs carry each file's name and checksum, so
// `pulumi preview` lists the pending ones without a database; its outputs are the ledger as applied. The
// row-level security step runs with them (it follows the tables they create).
import * as pulumi from "@pulumi/pulumi";
import { partProperties, type ReleasePartArgs } from "./part-args";
import { releaseProvider } from "./provider";
import type { LastRun, Manifest, PendingItem } from "./types";

export interface SchemaMigrationsArgs extends ReleasePartArgs {
  /** Name → sha256 of every migration file (core's buildReleaseManifest). */
  migrations: Manifest;
  /** The row-level security mode, when the stack names one (empty otherwise). */
  rowLevelSecurity: Manifest;
}

export class SchemaMigrations extends pulumi.dynamic.Resource {
  /** host:port/database. */
  declare readonly target: pulumi.Output<string>;
  /** The ledger: name → checksum of each applied migration. */
  declare readonly migrations: pulumi.Output<Manifest>;
  declare readonly appliedMigrations: pulumi.Output<number>;
  declare readonly lastMigration: pulumi.Output<string | null>;
  /** Ledger problems and objects changed by hand since the last release (filled by refresh). */
  declare readonly drift: pulumi.Output<string[]>;
  declare readonly rowLevelSecurity: pulumi.Output<Manifest>;
  /** Row-level security as the database records it. */
  declare readonly status: pulumi.Output<Record<string, unknown>[]>;
  /** Tables a refresh found out of step with the row-level security mode; `pulumi up` fixes them. */
  declare readonly pending: pulumi.Output<PendingItem[]>;
  declare readonly lastRun: pulumi.Output<LastRun | null>;

  constructor(name: string, args: SchemaMigrationsArgs, opts?: pulumi.CustomResourceOptions) {
    const { migrations, rowLevelSecurity, ...common } = args;
    super(
      releaseProvider,
      name,
      partProperties("migrations", common, { migrations, rowLevelSecurity }, [
        "appliedMigrations",
        "lastMigration",
        "drift",
      ]),
      opts,
      "neonhub",
      "SchemaMigrations",
    );
  }
}
