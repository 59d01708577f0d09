// Where an RDS or Aurora server lives: private subnets (given, or in a VPC created here) and a security group
// that admits PostgreSQL only from the listed networks and security groups.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cidrSubnet, formatIpv4Cidr, parseIpv4Cidr } from "../cidr";
import { ConfigValueError, InvalidConfigError, RdsNetworkConfig } from "../config";
import { configSetCommand } from "../dynamic/config-command";
import { fullKey } from "../validators";

export interface RdsNetworkArgs {
  /** Existing VPC and private subnets, or the block of a VPC to create. */
  network: RdsNetworkConfig;
  /** CIDR blocks allowed to connect on the PostgreSQL port. */
  allowedCidrs: string[];
  /** Security groups (e.g. the app's) allowed to connect on the PostgreSQL port. */
  allowedSecurityGroupIds: string[];
  /** The PostgreSQL port. */
  port: number;
  /** Tags for every AWS resource. */
  tags: Record<string, string>;
  /** The stack the program runs for: the config fixes it prints name it. */
  stack: string;
}

/** Subnets are /4 smaller than the VPC block: room for 16, and ample addresses for RDS in each. */
const SUBNET_NEW_BITS = 4;

export class RdsNetwork extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly subnetIds: pulumi.Output<string[]>;
  public readonly subnetGroupName: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: RdsNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:RdsNetwork", name, args, opts);
    const { network, tags, stack } = args;

    if (network.kind === "existing") {
      this.vpcId = pulumi.output(network.vpcId);
      this.subnetIds = pulumi.output(network.subnetIds);
    } else {
      const created = this.createPrivateVpc(
        name,
        network.vpcCidr,
        network.availabilityZoneCount,
        tags,
        stack,
      );
      this.vpcId = created.vpcId;
      this.subnetIds = created.subnetIds;
    }

    const subnetGroup = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      { subnetIds: this.subnetIds, description: "Private subnets of the NeonHub database", tags },
      { parent: this },
    );
    this.subnetGroupName = subnetGroup.name;

    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-postgres`,
      {
        vpcId: this.vpcId,
        description: "PostgreSQL from the NeonHub networks and security groups only",
        ingress: ingressRules(args),
        // No egress rules: the database initiates no connections. (AWS's default allow-all egress rule is
        // removed when the group is created.)
        tags,
      },
      { parent: this },
    );
    this.securityGroupId = securityGroup.id;

    this.registerOutputs({
      vpcId: this.vpcId,
      subnetIds: this.subnetIds,
      subnetGroupName: this.subnetGroupName,
      securityGroupId: this.securityGroupId,
    });
  }

  /** A VPC with one private subnet per availability zone: no internet gateway, no public addresses. */
  private createPrivateVpc(
    name: string,
    vpcCidr: string,
    zoneCount: number,
    tags: Record<string, string>,
    stack: string,
  ): { vpcId: pulumi.Output<string>; subnetIds: pulumi.Output<string[]> } {
    const block = parseIpv4Cidr(vpcCidr);
    if (!block) throw new Error(`vpcCidr ${vpcCidr} was not validated`);
    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: vpcCidr,
        enableDnsSupport: true,
        enableDnsHostnames: true,
        tags: { ...tags, Name: `${name}-vpc` },
      },
      { parent: this },
    );
    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this });
    const zoneNames = zones.names.apply((names) => zonesForSubnets(names, zoneCount, stack));
    const subnets = Array.from({ length: zoneCount }, (_, index) => {
      const zone = zoneNames.apply((names) => names[index] ?? "");
      return new aws.ec2.Subnet(
        `${name}-private-${index}`,
        {
          vpcId: vpc.id,
          cidrBlock: formatIpv4Cidr(cidrSubnet(block, SUBNET_NEW_BITS, index)),
          availabilityZone: zone,
          mapPublicIpOnLaunch: false,
          tags: { ...tags, Name: `${name}-private-${index}` },
        },
        { parent: this },
      );
    });
    return { vpcId: vpc.id, subnetIds: pulumi.all(subnets.map((subnet) => subnet.id)) };
  }
}

/**
 * The first `count` zones of the region. The count is stack config, but the region's zones are known only
 * once the provider answers, after the VPC is registered: too many is reported as the config error it is
 * (a RunError, printed without a stack trace), not as a failure of the program.
 */
export function zonesForSubnets(names: readonly string[], count: number, stack: string): string[] {
  if (count > names.length) {
    throw new InvalidConfigError([
      new ConfigValueError(
        fullKey("availabilityZoneCount"),
        `is ${count} but the region has ${names.length} availability zones (${names.join(", ")})`,
        configSetCommand(stack, "availabilityZoneCount", String(Math.max(2, names.length))),
      ),
    ]);
  }
  return names.slice(0, count);
}

function ingressRules(args: RdsNetworkArgs): aws.types.input.ec2.SecurityGroupIngress[] {
  const rule = { protocol: "tcp", fromPort: args.port, toPort: args.port };
  const rules: aws.types.input.ec2.SecurityGroupIngress[] = [];
  if (args.allowedCidrs.length > 0) {
    rules.push({ ...rule, cidrBlocks: args.allowedCidrs, description: "PostgreSQL from allowed networks" });
  }
  if (args.allowedSecurityGroupIds.length > 0) {
    rules.push({
      ...rule,
      securityGroups: args.allowedSecurityGroupIds,
      description: "PostgreSQL from allowed security groups",
    });
  }
  return rules;
}
