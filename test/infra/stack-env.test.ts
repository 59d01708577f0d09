// scripts/stack-env.js: stack outputs to DATABASE_URL/DIRECT_URL in a .env file. The end-to-end cases run
// the script against a stand-in `pulumi` executable that prints fixed outputs.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scratchDir } from "../support/scratch";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stackEnv = require("../../scripts/stack-env.js") as {
  envFromOutputs(outputs: Record<string, unknown>): Record<string, string>;
  redact(url: string): string;
  upsertEnv(text: string, vars: Record<string, string>): string;
};

const SCRIPT = path.resolve(__dirname, "../../scripts/stack-env.js");
const APP_URL = "postgresql://neonhub_app:AppPw0123456789@127.0.0.1:55432/neonhub";
const MIGRATOR_URL = "postgresql://neonhub_migrator:MigratorPw0123456789@127.0.0.1:55432/neonhub";

describe("upsertEnv", () => {
  it("appends missing variables and keeps other lines", () => {
    expect(stackEnv.upsertEnv("# app\nPORT=3000\n", { DATABASE_URL: "a", DIRECT_URL: "b" })).toBe(
      '# app\nPORT=3000\nDATABASE_URL="a"\nDIRECT_URL="b"\n',
    );
    expect(stackEnv.upsertEnv("", { DATABASE_URL: "a" })).toBe('DATABASE_URL="a"\n');
  });

  it("replaces existing assignments, including `export` ones, and drops later duplicates", () => {
    const before =
      'export DATABASE_URL=old\nPORT=3000\nDATABASE_URL="older"\nDIRECT_URL=x\nDATABASE_URL_EXTRA=keep\n';
    expect(stackEnv.upsertEnv(before, { DATABASE_URL: "new", DIRECT_URL: "d" })).toBe(
      'DATABASE_URL="new"\nPORT=3000\nDIRECT_URL="d"\nDATABASE_URL_EXTRA=keep\n',
    );
  });
});

describe("envFromOutputs and redact", () => {
  it("maps databaseUrl and directUrl, and refuses stacks without them", () => {
    expect(stackEnv.envFromOutputs({ databaseUrl: APP_URL, directUrl: MIGRATOR_URL, host: "x" })).toEqual({
      DATABASE_URL: APP_URL,
      DIRECT_URL: MIGRATOR_URL,
    });
    expect(() => stackEnv.envFromOutputs({ databaseUrl: APP_URL })).toThrow(/no directUrl output.*pulumi up/);
    // Without --show-secrets Pulumi prints "[secret]": refused too.
    expect(() => stackEnv.envFromOutputs({ databaseUrl: "[secret]", directUrl: "[secret]" })).toThrow(
      /databaseUrl/,
    );
  });

  it("hides passwords", () => {
    expect(stackEnv.redact(APP_URL)).toBe("postgresql://neonhub_app:****@127.0.0.1:55432/neonhub");
  });
});

describe("node scripts/stack-env.js", () => {
  let dir: string;

  beforeAll(() => {
    dir = scratchDir("stack-env-");
    const fakePulumi = path.join(dir, "bin", "pulumi");
    writeFileSync(
      path.join(dir, "outputs.json"),
      JSON.stringify({ databaseUrl: APP_URL, directUrl: MIGRATOR_URL }),
    );
    mkdirSync(path.dirname(fakePulumi));
    writeFileSync(
      fakePulumi,
      [
        `#!${process.execPath}`,
        'const fs = require("node:fs"), path = require("node:path");',
        "const dir = path.dirname(__dirname);",
        'fs.writeFileSync(path.join(dir, "argv.json"), JSON.stringify(process.argv.slice(2)));',
        'if (process.argv.includes("missing")) { process.stderr.write("error: no stack named \'missing\' found\\n"); process.exit(255); }',
        'process.stdout.write(fs.readFileSync(path.join(dir, "outputs.json"), "utf8"));',
      ].join("\n"),
    );
    chmodSync(fakePulumi, 0o755);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(args: string[], pathDirs = [path.join(dir, "bin")]) {
    return spawnSync(process.execPath, [SCRIPT, ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, PATH: [...pathDirs, path.dirname(process.execPath)].join(path.delimiter) },
    });
  }

  it("writes the stack's connection strings to the file, owner-readable only, and prints them redacted", () => {
    writeFileSync(path.join(dir, "app.env"), "PORT=3000\nDATABASE_URL=stale\n");
    const result = run(["--stack", "dev", "--file", "app.env"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, "argv.json"), "utf8"))).toEqual([
      "stack",
      "output",
      "--json",
      "--show-secrets",
      "--stack",
      "dev",
    ]);
    expect(readFileSync(path.join(dir, "app.env"), "utf8")).toBe(
      `PORT=3000\nDATABASE_URL="${APP_URL}"\nDIRECT_URL="${MIGRATOR_URL}"\n`,
    );
    expect(statSync(path.join(dir, "app.env")).mode & 0o777).toBe(0o600);
    expect(result.stdout).toContain("DATABASE_URL=postgresql://neonhub_app:****@127.0.0.1:55432/neonhub");
    expect(result.stdout).not.toContain("AppPw0123456789");
    expect(result.stdout).not.toContain("MigratorPw0123456789");
  });

  it("reports Pulumi's error for an unknown stack and writes nothing", () => {
    const result = run(["--stack", "missing", "--file", "missing.env"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /pulumi stack output failed \(exit 255\):\nerror: no stack named 'missing' found/,
    );
    expect(() => statSync(path.join(dir, "missing.env"))).toThrow();
  });

  it("says how to get the CLI when Pulumi is not installed", () => {
    const result = run(["--file", "none.env"], []);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Pulumi CLI is not installed/);
  });

  it("refuses unknown arguments", () => {
    const result = run(["--stak", "dev"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Unknown argument "--stak"/);
  });
});
