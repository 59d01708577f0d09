// The seed sets of a release as a Pulumi resource, applied after the migrations: its inputs carry each set's
// checksum, so a changed seed file shows in `pulumi preview`; update writes only the rows that differ.
import * as pulumi from "@pulumi/pulumi";
import { partProperties, type ReleasePartArgs } from "./part-args";
import { releaseProvider } from "./provider";
import type { LastRun, Manifest, PendingItem } from "./types";

export interface SeedSetsArgs extends ReleasePartArgs {
  /** Name → checksum of each seed set named in `steps.seedSets`. */
  seedSets: Manifest;
}

export class SeedSets extends pulumi.dynamic.Resource {
  declare readonly target: pulumi.Output<string>;
  /** Name → checksum (first 12 characters) of each set as the database records it. */
  declare readonly seedSets: pulumi.Output<Manifest>;
  /** The seed sets' records: rows, when and by whom applied. */
  declare readonly status: pulumi.Output<Record<string, unknown>[]>;
  /** Sets whose rows a refresh found changed by hand; `pulumi up` restores them. */
  declare readonly pending: pulumi.Output<PendingItem[]>;
  declare readonly lastRun: pulumi.Output<LastRun | null>;

  constructor(name: string, args: SeedSetsArgs, opts?: pulumi.CustomResourceOptions) {
    const { seedSets, ...common } = args;
    super(
      releaseProvider,
      name,
      partProperties("seedSets", common, { seedSets }),
      opts,
      "neonhub",
      "SeedSets",
    );
  }
}
