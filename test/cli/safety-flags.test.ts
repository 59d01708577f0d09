// The CLI's option values (migration safety, timeouts, --version): each bad value is a clear input error naming
// the flag and an example.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { COMMAND_FLAGS, OPTIONS, parseArgs } from "../../cli/args";
import { ReleaseError, resolveLockSafety, resolveReleaseSettings } from "../../core";
import { parseReleaseSafety } from "../../infra/release-safety-config";
import { runCli } from "../support/cli";

function refusal(argv: string[]): ReleaseError {
  try {
    parseArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(ReleaseError);
    return error as ReleaseError;
  }
  throw new Error(`expected ${argv.join(" ")} to be refused`);
}

describe("migration safety flags", () => {
  it("take seconds (0 = no limit), a retry count and an environment", () => {
    const args = parseArgs([
      "apply",
      "--migration-lock-timeout",
      "0",
      "--statement-timeout=2.5",
      "--lock-retries",
      "3",
      "--environment",
      "production",
    ]);
    expect(args.lockSafety).toEqual({ lockTimeoutMs: 0, statementTimeoutMs: 2_500, lockRetries: 3 });
    expect(args.environment).toBe("production");
    expect(parseArgs(["plan"]).lockSafety).toEqual({});
  });

  it.each([
    [
      ["--migration-lock-timeout", "soon"],
      '--migration-lock-timeout takes 0 (no limit) or a number of seconds from 0.001 to 3600 (at most 3 decimals), got "soon"',
    ],
    [["--statement-timeout=-1"], "--statement-timeout takes 0 (no limit) or a number of seconds"],
    [["--lock-retries", "1.5"], '--lock-retries takes a whole number from 0 to 100, got "1.5"'],
    [["--lock-retries", "500"], "--lock-retries takes a whole number from 0 to 100"],
    [["--environment", "prod"], '--environment must be one of production, staging, development, got "prod"'],
  ])("refuses %j", (flags, message) => {
    const error = refusal(["plan", ...flags]);
    expect(error.code).toBe("invalid-input");
    expect(error.message).toContain(message);
    expect(error.fix).toMatch(/Example: --|production/);
  });
});

describe("--statement-timeout against the migrations' lock timeout", () => {
  it("is refused at or below --migration-lock-timeout, naming both values and the fix", () => {
    const error = refusal(["apply", "--statement-timeout", "2", "--migration-lock-timeout", "3"]);
    expect(error.code).toBe("invalid-input");
    expect(error.message).toBe(
      "--statement-timeout 2 must be longer than --migration-lock-timeout 3, or a migration waiting for a table lock would be cancelled by the statement timeout, which is not retried, so the lock retries would never run.",
    );
    expect(error.fix).toBe(
      "Give a --statement-timeout longer than 3 seconds (e.g. --statement-timeout 600) or 0 to turn it off, or a shorter --migration-lock-timeout.",
    );
    expect(
      refusal(["revert", "--to", "x", "--statement-timeout=0.5", "--migration-lock-timeout=0.5"]).message,
    ).toMatch(/^--statement-timeout 0\.5 must be longer than --migration-lock-timeout 0\.5,/);
  });

  it("is refused at or below the lock timeout's default when that flag is not given", () => {
    expect(refusal(["plan", "--statement-timeout", "5"]).message).toMatch(
      /^--statement-timeout 5 must be longer than --migration-lock-timeout \(5, its default\), /,
    );
  });

  it.each([
    [["--statement-timeout", "5.001"]],
    [["--statement-timeout", "1", "--migration-lock-timeout", "0"]],
    [["--statement-timeout", "0", "--migration-lock-timeout", "3600"]],
    [["--migration-lock-timeout", "3600"]],
  ])("takes %j", (flags) => {
    expect(() => parseArgs(["apply", ...flags])).not.toThrow();
  });

  it("is the stack's rule: a pair of whole seconds is refused by one exactly when by the other", () => {
    const stackRefuses = (lock: number | undefined, statement: number) => {
      const settings: Record<string, string> = { migrationStatementTimeoutSeconds: String(statement) };
      if (lock !== undefined) settings.migrationLockTimeoutSeconds = String(lock);
      try {
        parseReleaseSafety(
          "dev",
          (key) => settings[key],
          (parse) => parse(),
          (_key, value) => String(value),
        );
        return false;
      } catch (error) {
        expect((error as Error).message).toContain("must be longer than migrationLockTimeoutSeconds");
        return true;
      }
    };
    const cliRefuses = (lock: number | undefined, statement: number) => {
      const lockFlag = lock === undefined ? [] : ["--migration-lock-timeout", String(lock)];
      try {
        parseArgs(["apply", "--statement-timeout", String(statement), ...lockFlag]);
        return false;
      } catch (error) {
        expect((error as ReleaseError).message).toContain("must be longer than --migration-lock-timeout");
        return true;
      }
    };
    let refused = 0;
    for (const lock of [undefined, 0, 1, 4, 5, 6, 60]) {
      for (const statement of [0, 1, 4, 5, 6, 60, 61]) {
        const stack = stackRefuses(lock, statement);
        expect(cliRefuses(lock, statement), `lock ${String(lock)}, statement ${statement}`).toBe(stack);
        if (stack) refused++;
      }
    }
    // Both sides of the rule were met.
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(49);
  });

  it("is refused by the CLI before it connects, in --json as an input error", async () => {
    const run = await runCli(["apply", "--json", "--statement-timeout", "1"], {
      DATABASE_URL: "postgresql://u:secret@127.0.0.1:1/db",
    });
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe("invalid-input");
    expect(error.message).toContain("--statement-timeout 1 must be longer than --migration-lock-timeout (5");
    expect(run.stdout + run.stderr).not.toContain("secret");
  });
});

describe("timeout flags", () => {
  it("take plain decimal seconds down to the millisecond", () => {
    const args = parseArgs(["apply", "--migration-lock-timeout", "0.001", "--connect-timeout", "1.5"]);
    expect(args.lockSafety.lockTimeoutMs).toBe(1);
    expect(args.connectTimeoutMs).toBe(1_500);
    expect(parseArgs(["apply", "--lock-timeout", "3600"]).lockTimeoutMs).toBe(3_600_000);
  });

  // Each of these once passed and became 0 ms, which PostgreSQL and the driver read as "no limit".
  it.each([
    ["--migration-lock-timeout", "0.0001", "takes 0 (no limit) or a number of seconds from 0.001 to 3600"],
    ["--statement-timeout", "0.0004", "takes 0 (no limit) or a number of seconds from 0.001 to 86400"],
    ["--connect-timeout", "0.0001", "takes a number of seconds more than 0, from 0.001 to 86400"],
    ["--connect-timeout", "0", "takes a number of seconds more than 0"],
    ["--connect-timeout", "0.000", "takes a number of seconds more than 0"],
  ])("refuse %s %s rather than round it to 0 ms", (flag, value, message) => {
    const error = refusal(["apply", flag, value]);
    expect(error.message.startsWith(`${flag} ${message}`)).toBe(true);
    expect(error.message).toContain(`got "${value}"`);
  });

  it.each(["0x10", "1e3", " 5", "5 ", "+5", "Infinity", "1.", ".5", "5s"])(
    "accept only plain decimals: refuse %j",
    (value) => {
      for (const flag of [
        "--migration-lock-timeout",
        "--statement-timeout",
        "--connect-timeout",
        "--lock-timeout",
      ]) {
        expect(refusal(["apply", flag, value]).message).toContain(`got "${value}"`);
      }
    },
  );

  it.each([
    "--lock-timeout",
    "--connect-timeout",
    "--migration-lock-timeout",
    "--lock-retries",
    "--batch-size",
  ])("give %s -5 the range message, not a missing value", (flag) => {
    const error = refusal(["apply", flag, "-5"]);
    expect(error.message).toMatch(new RegExp(`^${flag} takes .*, got "-5"\\.$`));
    expect(error.fix).toMatch(new RegExp(`^Example: ${flag} \\d+$`));
  });

  it("keep a dash after a flag that takes no number a missing value", () => {
    expect(refusal(["apply", "--owner-role", "-5"]).message).toContain(
      '--owner-role needs a value, and what follows it starts with "-"',
    );
  });

  // --lock-timeout and the lockTimeoutSeconds release setting are the same wait: one range for both.
  it.each([
    ["0", false],
    ["1", true],
    ["3600", true],
    ["3601", false],
    ["1.5", false],
  ])("--lock-timeout %s and lockTimeoutSeconds agree (accepted: %s)", (value, accepted) => {
    const flag = () => parseArgs(["apply", "--lock-timeout", value]);
    const setting = () => resolveReleaseSettings({ lockTimeoutSeconds: Number(value) }, "--set");
    if (accepted) {
      expect(flag().lockTimeoutMs).toBe(Number(value) * 1000);
      expect(setting().lockTimeoutSeconds).toBe(Number(value));
    } else {
      expect(flag).toThrow(/--lock-timeout takes a whole number of seconds from 1 to 3600/);
      expect(setting).toThrow(/lockTimeoutSeconds must be a whole number of seconds from 1 to 3600/);
    }
  });

  it("--json prints the refusal as one JSON error object, exit 1", async () => {
    const run = await runCli(["apply", "--json", "--migration-lock-timeout", "0.0001"], { DATABASE_URL: "" });
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(doc.error.code).toBe("invalid-input");
    expect(doc.error.message).toContain("--migration-lock-timeout takes 0 (no limit)");
    expect(doc.error.fix).toBe("Example: --migration-lock-timeout 5");
  });
});

describe("--version", () => {
  it("prints the version, and with --json one JSON document", async () => {
    const { version } = JSON.parse(
      readFileSync(path.resolve(__dirname, "..", "..", "package.json"), "utf8"),
    ) as {
      version: string;
    };
    const plain = await runCli(["--version"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe(`${version}\n`);
    const json = await runCli(["--version", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ version });
  });
});

describe("the migration lock timeout", () => {
  it("has one maximum, an hour, as a flag and as the stack's setting", () => {
    expect(parseArgs(["apply", "--migration-lock-timeout", "3600"]).lockSafety.lockTimeoutMs).toBe(3_600_000);
    expect(refusal(["apply", "--migration-lock-timeout", "3601"]).message).toMatch(/from 0.001 to 3600/);
    expect(parseArgs(["apply", "--statement-timeout", "86400"]).lockSafety.statementTimeoutMs).toBe(
      86_400_000,
    );
    expect(() => resolveLockSafety({ lockTimeoutMs: 3_600_001 })).toThrow(/from 0 to 3600000/);
  });
});

describe("--help", () => {
  it("with --json prints one JSON document holding the usage", async () => {
    const run = await runCli(["--help", "--json"]);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { usage: string }).usage).toMatch(/^Usage: neonhub-db <command>/);
  });
});

describe("no command", () => {
  it("is an error (exit 1) naming the commands, not the usage with exit 0", async () => {
    expect(refusal([]).message).toBe("No command given.");
    expect(refusal(["--json"]).fix).toContain("plan, apply, status");
    const run = await runCli(["--json"]);
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe("invalid-input");
  });
});

describe("flags of another command", () => {
  it("are refused, naming the commands they go with, where they were ignored", () => {
    expect(refusal(["status", "--seed", "demo"]).message).toBe("--seed goes with plan or apply, not status.");
    expect(refusal(["verify", "--seed", "demo"]).message).toBe("--seed goes with plan or apply, not verify.");
    expect(refusal(["plan", "--to", "x"]).message).toBe("--to goes with baseline or revert, not plan.");
    expect(refusal(["apply", "--confirm"]).message).toBe("--confirm goes with revert, not apply.");
    expect(refusal(["apply", "--corrected-down", "x"]).message).toBe(
      "--corrected-down goes with revert, not apply.",
    );
    expect(refusal(["status", "--out", "f.prisma"]).message).toBe(
      "--out goes with prisma-schema, not status.",
    );
    expect(refusal(["plan", "--legacy-organization", "acme"]).message).toBe(
      "--legacy-organization goes with --upgrade-legacy, which was not given.",
    );
    // The example is the command given: plan's shows a plan.
    expect(refusal(["plan", "--legacy-organization", "acme"]).fix).toBe(
      "Example: neonhub-db plan --upgrade-legacy --legacy-organization acme",
    );
    expect(refusal(["plan", "--upgrade-legacy"]).fix).toBe(
      "Example: neonhub-db plan --upgrade-legacy --legacy-organization acme",
    );
    expect(refusal(["apply", "--upgrade-legacy"]).fix).toBe(
      "Example: neonhub-db apply --upgrade-legacy --legacy-organization acme",
    );
    expect(refusal(["verify", "--upgrade-legacy", "--legacy-organization", "acme"]).message).toBe(
      "--upgrade-legacy goes with plan or apply, not verify.",
    );
    // The release's settings and lock flags, on a command that would ignore them.
    expect(refusal(["status", "--environment", "production"]).message).toBe(
      "--environment goes with plan, apply or revert, not status.",
    );
    expect(refusal(["verify", "--set", "vectorIndexes.method=hnsw"]).message).toBe(
      "--set goes with plan, apply or health, not verify.",
    );
    // status shows the recorded release settings: one given to it would change nothing it shows.
    expect(refusal(["status", "--set", "vectorIndexes.method=hnsw"]).message).toBe(
      "--set goes with plan, apply or health, not status.",
    );
    expect(refusal(["status", "--config", "release.yaml"]).message).toBe(
      "--config goes with plan, apply or health, not status.",
    );
    expect(refusal(["status", "--row-level-security", "off"]).message).toBe(
      "--row-level-security goes with plan or apply, not status.",
    );
    // health takes the release settings for its vector-index findings, and has none of row-level security.
    expect(parseArgs(["health", "--set", "vectorIndexes.method=hnsw"]).settings).toEqual([
      "vectorIndexes.method=hnsw",
    ]);
    expect(refusal(["health", "--row-level-security", "off"]).message).toBe(
      "--row-level-security goes with plan or apply, not health.",
    );
    // Every command waits for some lock at most --lock-timeout: the read commands for a table or row lock.
    for (const command of [
      ["status"],
      ["verify"],
      ["health"],
      ["prisma-schema"],
      ["load-chunks", "--file", "f", "--dataset", "d"],
    ]) {
      expect(parseArgs([...command, "--lock-timeout", "5"]).lockTimeoutMs).toBe(5_000);
    }
    expect(refusal(["health", "--migrations-dir", "m"]).message).toBe(
      "--migrations-dir goes with plan, apply, status, verify, baseline, adopt or revert, not health.",
    );
    // revert lints the Down sections it runs by environment, as apply its Up sections.
    expect(parseArgs(["revert", "--to", "x", "--environment", "production"]).environment).toBe("production");
    expect(refusal(["status", "--lock-retries", "1"]).message).toBe(
      "--lock-retries goes with plan, apply or revert, not status.",
    );
    expect(
      refusal(["load-chunks", "--file", "f", "--dataset", "d", "--row-level-security", "off"]).message,
    ).toBe("--row-level-security goes with plan or apply, not load-chunks.");
    // plan takes apply's flags: CI runs both with one set.
    expect(
      parseArgs([
        "plan",
        "--environment",
        "production",
        "--lock-timeout",
        "5",
        "--migration-lock-timeout",
        "3",
      ]),
    ).toMatchObject({ environment: "production" });
    // --help and --version answer whatever else is on the line.
    expect(parseArgs(["apply", "--seed", "demo", "--help"]).command).toBe("help");
    expect(parseArgs(["revert", "--to", "x", "--version"]).command).toBe("version");
    // Where they belong, and the flags every command takes, they are taken.
    expect(parseArgs(["apply", "--seed", "demo", "--json"]).seeds).toEqual(["demo"]);
    expect(parseArgs(["revert", "--to", "x", "--confirm"])).toMatchObject({ to: "x", confirm: true });
    // revert runs its Down sections under apply's lock safety.
    expect(
      parseArgs([
        "revert",
        "--to",
        "x",
        "--migration-lock-timeout",
        "1",
        "--lock-retries",
        "2",
        "--statement-timeout",
        "30",
      ]).lockSafety,
    ).toEqual({ lockTimeoutMs: 1_000, lockRetries: 2, statementTimeoutMs: 30_000 });
    expect(
      parseArgs(["revert", "--to", "x", "--corrected-down", "a", "--corrected-down", "b"]).correctedDown,
    ).toEqual(["a", "b"]);
    expect(
      parseArgs(["plan", "--upgrade-legacy", "--legacy-organization", "acme", "--batch-size", "10"]),
    ).toMatchObject({ upgradeLegacy: true, legacyOrganization: "acme", batchSize: 10 });
  });

  it("--batch-size and --max-batches go with --upgrade-legacy or the legacyUpgrade setting, and are refused without either", async () => {
    for (const flag of ["--batch-size", "--max-batches"]) {
      // Refused before any connection: the URL's port is closed.
      const run = await runCli(["plan", "--json", flag, "10"], {
        DATABASE_URL: "postgresql://u:secret@127.0.0.1:1/db",
      });
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(error).toMatchObject({
        code: "invalid-input",
        message: `${flag} goes with an upgrade of a Prisma-era database: --upgrade-legacy, or the legacyUpgrade release setting; neither was given.`,
      });
    }
    // With the setting, they are taken (and the closed port is what then fails).
    const withSetting = await runCli(
      ["plan", "--json", "--max-batches", "3", "--set", "legacyUpgrade.organization=acme"],
      { DATABASE_URL: "postgresql://u:secret@127.0.0.1:1/db" },
    );
    expect((JSON.parse(withSetting.stdout) as { error: { code: string } }).error.code).toBe("connection");
  });

  it("a flag of one value given twice is refused; --seed and --set repeat", () => {
    expect(
      refusal([
        "status",
        "--database-url",
        "postgresql://a@127.0.0.1/x",
        "--database-url",
        "postgresql://b@127.0.0.1/y",
      ]).message,
    ).toBe("--database-url is given twice.");
    expect(refusal(["plan", "--json", "--json"]).message).toBe("--json is given twice.");
    expect(parseArgs(["plan", "--seed", "a", "--seed", "b", "--set", "x=1", "--set", "y=2"])).toMatchObject({
      seeds: ["a", "b"],
      settings: ["x=1", "y=2"],
    });
  });
});

describe("a value flag given without its value", () => {
  // Every flag that takes a value, those COMMAND_FLAGS ties to some commands and the rest: the fix shows a
  // value that works, never a placeholder.
  const valueFlags = Object.entries(OPTIONS)
    .filter(([, option]) => option.type === "string")
    .map(([name]) => name);
  const cases = valueFlags.map((flag) => [
    flag,
    COMMAND_FLAGS[flag as keyof typeof COMMAND_FLAGS]?.[0] ?? "plan",
  ]);

  it("covers every flag COMMAND_FLAGS names that takes a value", () => {
    const tied = Object.keys(COMMAND_FLAGS).filter(
      (flag) => OPTIONS[flag as keyof typeof OPTIONS].type === "string",
    );
    expect(valueFlags).toEqual(expect.arrayContaining(tied));
    expect(tied).toContain("migration-lock-timeout");
    // Every command takes --lock-timeout (its lock waits are bounded), so COMMAND_FLAGS does not name it.
    expect(valueFlags).toContain("lock-timeout");
  });

  it.each(cases)("--%s (with %s) is refused with a real example", (flag, command) => {
    const error = refusal([command, `--${flag}`]);
    expect(error.message).toBe(`--${flag} needs a value.`);
    expect(error.fix).toMatch(new RegExp(`^Example: --${flag} \\S`));
    expect(error.fix).not.toContain("<value>");
  });

  it("and the example is one the flag takes", () => {
    for (const [flag, command] of cases) {
      const example = /^Example: --[\w-]+ (.*)$/.exec(refusal([command!, `--${flag}`]).fix!)![1]!;
      if (example.startsWith("<")) continue; // a name only the database knows: <Dataset id>, <migration name>
      // Another flag the command needs may be missing (load-chunks' --file and --dataset): not this value.
      let refused: unknown;
      try {
        parseArgs([command!, `--${flag}`, example]);
      } catch (error) {
        refused = error;
      }
      // A refused value is quoted in the refusal (`got "soon"`).
      const message = (refused as Error | undefined)?.message ?? "";
      expect(message, `--${flag} ${example}`).not.toContain(`"${example}"`);
      expect(message).not.toContain("needs a value");
    }
  });

  it("apply --lock-timeout names a number of seconds in the CLI's output", async () => {
    const run = await runCli(["apply", "--lock-timeout"], { DATABASE_URL: "" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("fix: Example: --lock-timeout 60");
  });
});
