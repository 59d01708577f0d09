// The seed sets of a release as a Pulumi resource, applied after the migrations: its inputs carry each set's
// checksum, so a changed seed file shows in `pulumi preview`; update writes only the rows that differ.
import type * as pulumi from "@pulumi/pulumi";
import type { SeedSetStatus } from "../../core";
import type { ReleasePartArgs } from "./part-args";
import { ReleasePartResource } from "./part-resource";
import type { Manifest } from "./types";

export interface SeedSetsArgs extends ReleasePartArgs {
  /** Name → checksum of each seed set named in `steps.seedSets`. */
  seedSets: Manifest;
}

export class SeedSets extends ReleasePartResource<SeedSetStatus> {
  /** Name → checksum of each set as the database records it. */
  declare readonly seedSets: pulumi.Output<Manifest>;

  constructor(name: string, args: SeedSetsArgs, opts?: pulumi.CustomResourceOptions) {
    const { seedSets, ...common } = args;
    super("SeedSets", "seedSets", name, common, { seedSets }, opts);
  }
}
