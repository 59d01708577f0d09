// The release engine in a process of its own, for what the CLI does not expose: a seeds folder other than
// the project's (broken seed files) and vector-index options (CONCURRENTLY builds). It is the CLI's contract
// with the engine's options: log lines on stderr, one JSON document on stdout, exit 0 / 1 (error) / 2 (verify
// found drift), every known password scrubbed.
//
//   node -r tsx/cjs release-driver.ts <apply|plan|verify> '<DriverOptions as JSON>'   (URL in DATABASE_URL)
import {
  applyRelease,
  isReleaseError,
  planRelease,
  redactSecrets,
  verifyRelease,
  type Logger,
  type ReleaseOptions,
} from "../../../core";
import { defaultReleaseSteps, type DefaultStepOptions } from "../../../core";
import { SeedsStep } from "../../../core";

export interface DriverOptions {
  migrationsDir: string;
  seedsDir?: string;
  seedSets?: string[];
  vectorIndexes?: DefaultStepOptions["vectorIndexes"];
  lockTimeoutMs?: number;
}

async function run(command: string, options: DriverOptions, databaseUrl: string, log: Logger) {
  const release: ReleaseOptions = {
    databaseUrl,
    databaseUrlSource: "DATABASE_URL",
    migrationsDir: options.migrationsDir,
    // The CLI's steps, in its order, with the seed sets read from the folder given.
    steps: defaultReleaseSteps({ seedSets: [], vectorIndexes: options.vectorIndexes }).map((step) =>
      step.kind === "seeds"
        ? new SeedsStep({ seedSets: options.seedSets ?? [], seedsDir: options.seedsDir })
        : step,
    ),
    lockTimeoutMs: options.lockTimeoutMs,
    log,
  };
  if (command === "apply") return { value: await applyRelease(release), code: 0 };
  if (command === "plan") return { value: await planRelease(release), code: 0 };
  if (command === "verify") {
    const report = await verifyRelease(release);
    return { value: report, code: report.clean ? 0 : 2 };
  }
  throw new Error(`unknown command ${command}`);
}

async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL ?? "";
  const clean = (text: string) => redactSecrets(text);
  const err = (text: string) => process.stderr.write(`${clean(text)}\n`);
  const log: Logger = {
    info: (m) => err(`[neonhub-db] ${m}`),
    warn: (m) => err(`[neonhub-db] warning: ${m}`),
  };
  const [command = "", json = "{}"] = process.argv.slice(2);
  try {
    // Steps validate their inputs when constructed: a broken seed file fails here, before any connection.
    const { value, code } = await run(command, JSON.parse(json) as DriverOptions, databaseUrl, log);
    process.stdout.write(`${clean(JSON.stringify(value))}\n`);
    return code;
  } catch (error) {
    if (isReleaseError(error)) err(`neonhub-db: error: ${error.describe()}`);
    else
      err(
        `neonhub-db: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
