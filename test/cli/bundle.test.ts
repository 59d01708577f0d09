// The CLI's start-up path (bin/cli-bundle.js): the cached bundle follows the content of what it is built from,
// a plan through it loads neither undici (pg's runtime probe) nor the modules only other commands need, and it
// answers exactly as the TypeScript sources run through tsx do.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/database";
import { runCli } from "../support/cli";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { scratchDir } from "../support/scratch";

const ROOT = path.resolve(__dirname, "..", "..");
// The loader is plain CommonJS, like the bin script that uses it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bundle = require("../../bin/cli-bundle") as {
  bundleKey(root: string, options?: { racyMs?: number }): string;
};

/**
 * A project of four inputs: the CLI's entry, one core module, the access layer's definition and npm's record of
 * node_modules.
 */
function tinyProject(): string {
  const root = scratchDir("neonhub-bundle-");
  mkdirSync(path.join(root, "cli"));
  mkdirSync(path.join(root, "core"));
  mkdirSync(path.join(root, "infra"));
  mkdirSync(path.join(root, "node_modules"));
  writeFileSync(
    path.join(root, "infra", "access-definition.js"),
    'module.exports = { ROLE_SUFFIXES: { app: "_app" } };\n',
  );
  writeFileSync(
    path.join(root, "cli", "main.ts"),
    'import { greeting } from "../core/greeting";\n' +
      "export async function main(argv: readonly string[]): Promise<number> {\n" +
      "  process.stdout.write(`${greeting} ${argv.join(' ')}\\n`);\n  return 0;\n}\n",
  );
  writeFileSync(path.join(root, "core", "greeting.ts"), 'export const greeting = "hello";\n');
  writeFileSync(
    path.join(root, "node_modules", ".package-lock.json"),
    '{"packages":{"node_modules/pg":"8.16.3"}}',
  );
  return root;
}

describe("the bundle's key", () => {
  const roots: string[] = [];
  const project = () => {
    const root = tinyProject();
    roots.push(root);
    return root;
  };
  afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

  it("is stable while nothing changes, and comes from the stat record then", async () => {
    const root = project();
    // The inputs must be older than the record for it to be trusted, even by a clock tick.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const key = bundle.bundleKey(root, { racyMs: 0 });
    expect(bundle.bundleKey(root, { racyMs: 0 })).toBe(key);
    // A record whose stat data all match is trusted as it is: proven by a key planted in it.
    const recordFile = path.join(root, ".local", "cli-bundle", "inputs.json");
    const record = JSON.parse(readFileSync(recordFile, "utf8")) as { key: string };
    writeFileSync(recordFile, JSON.stringify({ ...record, key: "planted" }));
    expect(bundle.bundleKey(root, { racyMs: 0 })).toBe("planted");
  });

  it("changes with a source's content, even at the same size and modification time", () => {
    const root = project();
    const file = path.join(root, "core", "greeting.ts");
    // A whole second, which the file system stores exactly.
    const then = 1_700_000_000;
    utimesSync(file, then, then);
    const key = bundle.bundleKey(root, { racyMs: 0 });
    writeFileSync(file, 'export const greeting = "howdy";\n');
    utimesSync(file, then, then);
    expect(statSync(file).mtimeMs).toBe(then * 1000);
    expect(bundle.bundleKey(root, { racyMs: 0 })).not.toBe(key);
  });

  it("changes with the access layer's definition, the one file of infra/ the CLI reads", () => {
    const root = project();
    const key = bundle.bundleKey(root, { racyMs: 0 });
    writeFileSync(
      path.join(root, "infra", "access-definition.js"),
      'module.exports = { ROLE_SUFFIXES: { app: "_web" } };\n',
    );
    expect(bundle.bundleKey(root, { racyMs: 0 })).not.toBe(key);
  });

  it("changes when a source file is added", () => {
    const root = project();
    const key = bundle.bundleKey(root, { racyMs: 0 });
    mkdirSync(path.join(root, "core", "more"));
    writeFileSync(path.join(root, "core", "more", "extra.ts"), "export const extra = 1;\n");
    expect(bundle.bundleKey(root, { racyMs: 0 })).not.toBe(key);
  });

  it("changes when the installed dependencies change", () => {
    const root = project();
    const key = bundle.bundleKey(root, { racyMs: 0 });
    writeFileSync(
      path.join(root, "node_modules", ".package-lock.json"),
      '{"packages":{"node_modules/pg":"8.17.0"}}',
    );
    expect(bundle.bundleKey(root, { racyMs: 0 })).not.toBe(key);
  });

  it("hashes again an input changed just before the record was written", () => {
    const root = project();
    const racy = { racyMs: 60_000 };
    const key = bundle.bundleKey(root, racy);
    const recordFile = path.join(root, ".local", "cli-bundle", "inputs.json");
    const record = JSON.parse(readFileSync(recordFile, "utf8")) as { key: string };
    writeFileSync(recordFile, JSON.stringify({ ...record, key: "planted" }));
    // Every input here changed within the racy window before the record: not trusted, the content decides.
    expect(bundle.bundleKey(root, racy)).toBe(key);
  });
});

describe("building and loading the bundle", () => {
  const root = tinyProject();
  // esbuild comes from the project's node_modules; the record of it stays the tiny project's own.
  for (const name of readdirSync(path.join(ROOT, "node_modules"))) {
    if (!name.startsWith("."))
      symlinkSync(path.join(ROOT, "node_modules", name), path.join(root, "node_modules", name));
  }
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const bundleDir = path.join(root, ".local", "cli-bundle");
  const run = (...argv: string[]) => {
    const script =
      `require(${JSON.stringify(path.join(ROOT, "bin", "cli-bundle.js"))})` +
      `.loadBundledMain(${JSON.stringify(root)})` +
      `.then(async (cli) => { process.exitCode = await cli.main(${JSON.stringify(argv)}); cli.saveCodeCache(); })`;
    const result = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    return result.stdout;
  };
  const files = () => readdirSync(bundleDir).filter((f) => f.startsWith("main-"));

  it("builds on the first run, with its code cache, and rebuilds when a source changes", () => {
    expect(run("world")).toBe("hello world\n");
    const first = files();
    expect(first.filter((f) => f.endsWith(".js"))).toHaveLength(1);
    expect(first.filter((f) => f.endsWith(".js.v8-cache"))).toHaveLength(1);

    writeFileSync(path.join(root, "core", "greeting.ts"), 'export const greeting = "goodbye";\n');
    expect(run("world")).toBe("goodbye world\n");
    const second = files();
    expect(second.filter((f) => f.endsWith(".js"))).toHaveLength(1);
    // The bundle of the old sources and its cache are gone.
    expect(second.some((f) => first.includes(f))).toBe(false);
  });

  it("replaces a damaged code cache and still runs", () => {
    run("again");
    const cache = files().find((f) => f.endsWith(".v8-cache"))!;
    writeFileSync(path.join(bundleDir, cache), "not a code cache");
    expect(run("again")).toBe("goodbye again\n");
    expect(readFileSync(path.join(bundleDir, cache), "utf8")).not.toBe("not a code cache");
  });
});

describe("neonhub-db plan through the bundle", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const probeDir = scratchDir("neonhub-probe-");
  const probe = path.join(probeDir, "probe.js");
  // Records every module required and whether anything touched the global Response (which loads undici).
  writeFileSync(
    probe,
    `const Module = require("node:module");
const loaded = new Set();
const load = Module._load;
Module._load = function (request, ...rest) { loaded.add(request); return load.call(this, request, ...rest); };
let touched = false;
const real = Object.getOwnPropertyDescriptor(globalThis, "Response");
Object.defineProperty(globalThis, "Response", { configurable: true, enumerable: real.enumerable,
  get() { touched = true; return real.get ? real.get.call(globalThis) : real.value; } });
process.on("exit", () => process.stderr.write("\\nPROBE " + JSON.stringify({ touched, loaded: [...loaded] }) + "\\n"));
`,
  );
  afterAll(() => rmSync(probeDir, { recursive: true, force: true }));
  const cli = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url, ...env });
  const probed = (stderr: string) =>
    JSON.parse(/^PROBE (.*)$/m.exec(stderr)![1]!) as { touched: boolean; loaded: string[] };
  /** The plan's JSON without what differs from run to run (times, durations). */
  const stable = (stdout: string) =>
    JSON.parse(stdout, (key, value: unknown) => (/(Ms|At|^at)$/.test(key) ? undefined : value)) as unknown;

  beforeAll(async () => {
    // Built (or found) before the probed runs, so they measure a start-up, not a build.
    expect((await runCli(["--version"])).code).toBe(0);
  });

  it("answers as the sources run through tsx do, pending migrations and all", async () => {
    const bundled = await cli({}, "plan", "--json");
    const sources = await cli({ NEONHUB_DB_NO_BUNDLE: "1" }, "plan", "--json");
    expect(bundled.code).toBe(2);
    expect(sources.code).toBe(bundled.code);
    expect(stable(bundled.stdout)).toEqual(stable(sources.stdout));
    const digitless = (text: string) => text.replace(/\d+(\.\d+)?/g, "N");
    expect(digitless(bundled.stderr)).toBe(digitless(sources.stderr));
  });

  it("loads neither undici, pg from node_modules, yaml, pg-copy-streams nor tsx", async () => {
    expect((await cli({}, "apply")).code).toBe(0);
    const plan = await cli({ NODE_OPTIONS: `--require ${probe}` }, "plan", "--json");
    expect(plan.code, plan.stderr).toBe(0);
    const { touched, loaded } = probed(plan.stderr);
    expect(touched).toBe(false);
    for (const name of ["pg", "yaml", "pg-copy-streams", "node-pg-migrate", "tsx/cjs"]) {
      expect(loaded).not.toContain(name);
    }
    // The same probe sees what the sources load, so it would see them.
    const sources = await cli(
      { NODE_OPTIONS: `--require ${probe}`, NEONHUB_DB_NO_BUNDLE: "1" },
      "plan",
      "--json",
    );
    expect(probed(sources.stderr).loaded).toEqual(expect.arrayContaining(["pg", "tsx/cjs"]));
  });

  it("writes the code cache of the bundle it runs", async () => {
    expect((await cli({}, "plan", "--json")).code).toBe(0);
    const record = JSON.parse(
      readFileSync(path.join(ROOT, ".local", "cli-bundle", "inputs.json"), "utf8"),
    ) as {
      key: string;
    };
    expect(existsSync(path.join(ROOT, ".local", "cli-bundle", `main-${record.key}.js.v8-cache`))).toBe(true);
  });
});
