// The vector indexes of a release as a Pulumi resource, built after the seed sets (after the data they
// index): its inputs carry each index definition's checksum, so a changed definition shows in preview.
import * as pulumi from "@pulumi/pulumi";
import { partProperties, type ReleasePartArgs } from "./part-args";
import { releaseProvider } from "./provider";
import type { LastRun, Manifest, PendingItem } from "./types";

export interface VectorIndexesArgs extends ReleasePartArgs {
  /** Name → checksum of each index definition of the release's vector-index step. */
  vectorIndexes: Manifest;
}

export class VectorIndexes extends pulumi.dynamic.Resource {
  declare readonly target: pulumi.Output<string>;
  declare readonly vectorIndexes: pulumi.Output<Manifest>;
  /** The indexes as the database records them (lists, rows, build time...). */
  declare readonly status: pulumi.Output<Record<string, unknown>[]>;
  /** Indexes a refresh found due for a rebuild (their table grew); `pulumi up` rebuilds them. */
  declare readonly pending: pulumi.Output<PendingItem[]>;
  declare readonly lastRun: pulumi.Output<LastRun | null>;

  constructor(name: string, args: VectorIndexesArgs, opts?: pulumi.CustomResourceOptions) {
    const { vectorIndexes, ...common } = args;
    super(
      releaseProvider,
      name,
      partProperties("vectorIndexes", common, { vectorIndexes }),
      opts,
      "neonhub",
      "VectorIndexes",
    );
  }
}
