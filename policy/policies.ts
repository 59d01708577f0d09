// Every policy of the pack, in one list that index.ts serves and the tests exercise.
import type { Policies } from "@pulumi/policy";
import type { PlainConfigSource } from "./plain-config";
import { backupRetention } from "./rules/backup-retention";
import { deletionProtection } from "./rules/deletion-protection";
import { finalSnapshot } from "./rules/final-snapshot";
import { forceSsl } from "./rules/force-ssl";
import { noPlaintextPassword } from "./rules/no-plaintext-password";
import { notPubliclyAccessible } from "./rules/not-publicly-accessible";
import { pgvectorEngineVersion } from "./rules/pgvector-engine-version";
import { storageEncrypted } from "./rules/storage-encrypted";

export interface PolicyContext {
  /** The Pulumi project's directory, where the stack files are. */
  projectDir: string;
  /** Where the password policy finds each stack's plain config. */
  plainConfig: PlainConfigSource;
}

export function neonhubPolicies(context: PolicyContext): Policies {
  return [
    storageEncrypted,
    notPubliclyAccessible,
    deletionProtection,
    backupRetention,
    forceSsl,
    finalSnapshot,
    noPlaintextPassword(context.plainConfig, context.projectDir),
    pgvectorEngineVersion,
  ];
}
