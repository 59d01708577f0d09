// Bad stack config values for the reliability matrix. parseStackConfig is what the Pulumi program runs first
// (infra/config.ts): an InvalidConfigError there stops `pulumi preview`/`up` before any resource exists, so it
// is exercised as the pure function it is; the scenario checks the message and that no password shows.
import type { RawStackConfig } from "../../../infra/config";

export interface BadConfig {
  label: string;
  /** Values of `neonhub-db:*` keys, without the namespace. */
  values: RawStackConfig["values"];
  /** Keys set with --secret (the rest are plain). */
  secret?: string[];
  message: RegExp;
}

/** The password the admin URLs below carry: no message may repeat it. */
export const CONFIG_PASSWORD = "Cfg-S3cret-pw-9f2c";
const ADMIN = `postgresql://postgres:${CONFIG_PASSWORD}@127.0.0.1:54329/postgres`;

export const BAD_CONFIGS: BadConfig[] = [
  {
    label: "admin URL with an unknown sslmode",
    values: { adminUrl: `${ADMIN}?sslmode=always` },
    secret: ["adminUrl"],
    message:
      /neonhub-db:adminUrl: has sslmode=always \(value not shown: it holds a password\)\. Use one of disable, allow, prefer, require, verify-ca, verify-full \(/,
  },
  {
    label: "admin URL that is not a URL",
    values: { adminUrl: `host=127.0.0.1 password=${CONFIG_PASSWORD}` },
    secret: ["adminUrl"],
    message: /neonhub-db:adminUrl: is not a valid URL \(value not shown: it holds a password\)/,
  },
  {
    label: "admin URL stored in plain text",
    values: { adminUrl: ADMIN },
    message: /neonhub-db:adminUrl: holds a password but is stored in plain text; set it with --secret/,
  },
  {
    label: "docker port below 1024",
    values: { server: "docker", dockerPort: "80" },
    message: /neonhub-db:dockerPort: must be a whole number from 1024 to 65535 \(got "80"\)/,
  },
  {
    label: "a key with a typo",
    values: { adminUrl: ADMIN, seedset: "demo" },
    secret: ["adminUrl"],
    message: /neonhub-db:seedset: is not a setting of this program; did you mean neonhub-db:seedSets\?/,
  },
  {
    label: "unknown seed set",
    values: { adminUrl: ADMIN, seedSets: '["demo","prod"]' },
    secret: ["adminUrl"],
    message: /neonhub-db:seedSets: names "prod", which is not a seed set \(available: demo\)/,
  },
  {
    label: "vector index options that are not JSON",
    values: { adminUrl: ADMIN, vectorIndexes: "{method: hnsw" },
    secret: ["adminUrl"],
    message: /neonhub-db:vectorIndexes: is not a JSON object/,
  },
  {
    label: "release lock timeout of zero",
    values: { adminUrl: ADMIN, releaseLockTimeoutSeconds: "0" },
    secret: ["adminUrl"],
    message:
      /neonhub-db:releaseLockTimeoutSeconds: must be a whole number of seconds from 1 to 3600 \(got 0\)/,
  },
];
