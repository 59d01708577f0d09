// The one base of the three schema-release resources: each is the same provider (provider.ts, a mapping of
// Pulumi's create/read/update/delete/diff onto the core's release session) over one part of the release,
// with the outputs every part records. The subclasses only name their part and its manifest properties.
import * as pulumi from "@pulumi/pulumi";
import type { StepStatus } from "../../core";
import { partProperties, type ReleasePartArgs } from "./part-args";
import { releaseProvider } from "./provider";
import type { LastRun, Manifests, MigrationBytesChecksums, PendingItem, ReleasePart } from "./types";

export abstract class ReleasePartResource<S extends StepStatus = StepStatus> extends pulumi.dynamic.Resource {
  /** host:port/database. */
  declare readonly target: pulumi.Output<string>;
  /** What the database records for the part's items. */
  declare readonly status: pulumi.Output<S[]>;
  /** What a refresh found out of step (rows edited by hand, an index due for a rebuild); `pulumi up` repairs it. */
  declare readonly pending: pulumi.Output<PendingItem[]>;
  declare readonly lastRun: pulumi.Output<LastRun | null>;

  protected constructor(
    type: string,
    part: ReleasePart,
    name: string,
    args: ReleasePartArgs,
    manifests: Manifests & MigrationBytesChecksums,
    opts?: pulumi.CustomResourceOptions,
    outputs: readonly string[] = [],
  ) {
    super(releaseProvider, name, partProperties(part, args, manifests, outputs), opts, "neonhub", type);
  }
}
