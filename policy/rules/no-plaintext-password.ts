import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { Cluster, Instance } from "@pulumi/aws/rds";
// This one module of the release engine, not core/index.ts: it needs only shell-word.ts, where the engine's
// index would load pg, node-pg-migrate and the rest into a pack that runs on its own (eslint.config.mjs).
import { pulumiConfigCommand } from "../../core/pulumi-config-command";
import { stackFileName, type PlainConfigSource } from "../plain-config";
import { stackOfUrn } from "../urn";

// The master password is either absent (manageMasterUserPassword: RDS keeps it in Secrets Manager) or comes
// from a secret: a generated password, or config set with `--secret`. It must never be a value that sits
// readable in the stack's config file. The engine gives policies decrypted inputs, so the check compares the
// password with the stack's plain config values; messages name the config key, never the value. The
// `pulumi config set` a message prints is the one the CLI and the provider print (core's pulumiConfigCommand):
// `--path '<key>'` for a value inside a map or list, which without it would be set as a new top-level key named
// `db.password` and leave the plain one in place. It names the stack the resource belongs to (its URN's), which
// need not be the one selected where it is run. Bare: Pulumi's stack names ([A-Za-z0-9_.-]) need no shell
// quoting.

/** The password inputs of each resource type; the `Wo` variants are write-only but still inputs. */
type PasswordInputs = Record<string, string | undefined>;

export function noPlaintextPassword(
  plainConfig: PlainConfigSource,
  projectDir: string,
): ResourceValidationPolicy {
  const check = (passwords: PasswordInputs, urn: string, reportViolation: (message: string) => void) => {
    const stack = stackOfUrn(urn);
    for (const [property, password] of Object.entries(passwords)) {
      if (!password) continue;
      const leaked = plainConfig(stack).find((entry) => entry.value === password);
      if (leaked === undefined) continue;
      reportViolation(
        `${property} is the plain config value "${leaked.key}" in ${stackFileName(projectDir, stack)}, readable by anyone ` +
          `with the repository. Prefer manageMasterUserPassword: true (RDS keeps the password in Secrets Manager), ` +
          `or store it encrypted: \`${pulumiConfigCommand("set", leaked.key, { stack, secret: true, path: leaked.nested, value: "..." })}\`.`,
      );
    }
  };
  return {
    name: "rds-no-plaintext-password",
    description: "No RDS master password comes from plain (unencrypted) stack config.",
    severity: "critical",
    validateResource: [
      validateResourceOfType(Instance, (instance, args, reportViolation) =>
        check({ password: instance.password, passwordWo: instance.passwordWo }, args.urn, reportViolation),
      ),
      validateResourceOfType(Cluster, (cluster, args, reportViolation) =>
        check(
          { masterPassword: cluster.masterPassword, masterPasswordWo: cluster.masterPasswordWo },
          args.urn,
          reportViolation,
        ),
      ),
    ],
  };
}
