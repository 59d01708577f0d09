// The prod stack's values that AWS would refuse only when it creates the server: a KMS key of another region,
// a subnet listed twice, an engine version that is no version. The program fails before registering anything.
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../infra/config";
import { MockWorld, programOnInvalidConfig } from "./harness";

let world: MockWorld;
let failure: unknown;

beforeAll(async () => {
  ({ world, failure } = await programOnInvalidConfig(
    {
      "neonhub-db:allowedCidrs": JSON.stringify(["10.0.0.0/16"]),
      // Pulumi.prod.yaml's aws:region is us-east-1.
      "neonhub-db:kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "neonhub-db:vpcId": "vpc-0123456789abcdef0",
      "neonhub-db:subnetIds": JSON.stringify(["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]),
      "neonhub-db:engineVersion": "16.",
    },
    "prod",
  ));
});

describe("invalid prod stack config", () => {
  it("names each key, what AWS would refuse and the fix, in one message", () => {
    expect(failure).toBeInstanceOf(InvalidConfigError);
    const message = (failure as Error).message;
    expect(message).toMatch(/^Invalid stack configuration \(3 problems\); nothing was changed:/);
    expect(message).toMatch(
      /neonhub-db:kmsKeyArn: is a key in eu-west-1, but the stack deploys to us-east-1: .*remove kmsKeyArn and the stack creates one\. Example: pulumi config set --stack prod neonhub-db:kmsKeyArn arn:aws:kms:us-east-1:/,
    );
    expect(message).toMatch(/neonhub-db:subnetIds: lists "subnet-0123456789abcdef0" twice/);
    expect(message).toMatch(
      /neonhub-db:engineVersion: is not a PostgreSQL version \(got "16\."\).*the minor is not checked here/,
    );
  });

  it("registers no resource", () => {
    expect(world.resources).toEqual([]);
  });
});
