// One password policy for every generated login.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/**
 * 32 letters and digits (about 190 bits). No special characters: connection strings, .env files and shells
 * then never need escaping, and length gives the strength.
 */
export function generatedPassword(name: string, parent: pulumi.Resource): random.RandomPassword {
  return new random.RandomPassword(
    name,
    { length: 32, special: false, minLower: 2, minUpper: 2, minNumeric: 2 },
    { parent },
  );
}
