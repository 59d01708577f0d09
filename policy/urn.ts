// The parts of a Pulumi URN that policies need: `urn:pulumi:<stack>::<project>::<type>::<name>`.

/** The stack a resource belongs to, taken from its URN. */
export function stackOfUrn(urn: string): string {
  const match = /^urn:pulumi:([^:]+)::/.exec(urn);
  if (!match?.[1]) throw new Error(`not a Pulumi resource URN: ${urn}`);
  return match[1];
}
