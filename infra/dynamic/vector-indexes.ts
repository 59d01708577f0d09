// The vector indexes of a release as a Pulumi resource, built after the seed sets (after the data they
// index): its inputs carry each index definition's checksum, so a changed definition shows in preview.
import type * as pulumi from "@pulumi/pulumi";
import type { VectorIndexStatus } from "../../core";
import type { ReleasePartArgs } from "./part-args";
import { ReleasePartResource } from "./part-resource";
import type { Manifest } from "./types";

export interface VectorIndexesArgs extends ReleasePartArgs {
  /** Name → checksum of each index definition of the release's vector-index step. */
  vectorIndexes: Manifest;
}

export class VectorIndexes extends ReleasePartResource<VectorIndexStatus> {
  declare readonly vectorIndexes: pulumi.Output<Manifest>;

  constructor(name: string, args: VectorIndexesArgs, opts?: pulumi.CustomResourceOptions) {
    const { vectorIndexes, ...common } = args;
    super("VectorIndexes", "vectorIndexes", name, common, { vectorIndexes }, opts);
  }
}
