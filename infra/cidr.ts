// IPv4 CIDR arithmetic for security-group rules and the private subnets of a created VPC.
// Pure functions: config validation and the network component share them.

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit integer. */
  network: number;
  /** Prefix length, 0 to 32. */
  prefix: number;
}

const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses "a.b.c.d/n"; returns undefined when the text is not a canonical IPv4 CIDR block. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const match = CIDR_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const network = address - (address % 2 ** (32 - prefix));
  // "10.0.0.1/16" has host bits set: AWS rejects it, so we do too rather than silently widen it.
  if (network !== address) return undefined;
  return { network, prefix };
}

export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(cidr.network / 2 ** shift) % 256);
  return `${octets.join(".")}/${cidr.prefix}`;
}

/**
 * The `index`-th subnet of `parent` with `newBits` more prefix bits, like Terraform's `cidrsubnet`.
 * Throws a RangeError when the subnet does not exist.
 */
export function cidrSubnet(parent: Ipv4Cidr, newBits: number, index: number): Ipv4Cidr {
  const prefix = parent.prefix + newBits;
  if (prefix > 32 || index < 0 || index >= 2 ** newBits) {
    throw new RangeError(`${formatIpv4Cidr(parent)} has no subnet #${index} with prefix /${prefix}`);
  }
  return { network: parent.network + index * 2 ** (32 - prefix), prefix };
}
