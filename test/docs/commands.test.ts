// The README and docs/ promise commands; this keeps every promise true: each `npm run <script>` exists in
// package.json, each `neonhub-db <command>` and its `--flags` exist in the CLI, each `node scripts/<file>` exists.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS, COMMAND_FLAGS, USAGE } from "../../cli/args";

const ROOT = path.resolve(__dirname, "..", "..");
const documents = [
  "README.md",
  ...readdirSync(path.join(ROOT, "docs")).map((f) => path.join("docs", f)),
].filter((f) => f.endsWith(".md"));
const scripts = Object.keys(
  (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: object }).scripts,
);

function mentions(pattern: RegExp): { doc: string; match: RegExpExecArray }[] {
  const found: { doc: string; match: RegExpExecArray }[] = [];
  for (const doc of documents) {
    // A shell line continued with a backslash is one command.
    const text = readFileSync(path.join(ROOT, doc), "utf8").replace(/\\\n[ \t]*/g, " ");
    for (const match of text.matchAll(new RegExp(pattern.source, `${pattern.flags}g`)))
      found.push({ doc, match: match as RegExpExecArray });
  }
  return found;
}

describe("documented commands exist", () => {
  it("every npm script", () => {
    const used = mentions(/npm run ([a-z][\w:-]*)/);
    expect(used.length).toBeGreaterThan(3);
    for (const { doc, match } of used) expect(scripts, `${doc}: npm run ${match[1]}`).toContain(match[1]);
  });

  it("every neonhub-db subcommand and flag", () => {
    const used = mentions(/^\s*(?:npx )?neonhub-db ([a-z][\w-]*)([^\n#]*)/m);
    expect(used.length).toBeGreaterThan(3);
    for (const { doc, match } of used) {
      expect([...COMMANDS, "help", "version"], `${doc}: neonhub-db ${match[1]}`).toContain(match[1]);
      for (const flag of match[2]!.match(/--[a-z][\w-]*/g) ?? []) {
        expect(USAGE, `${doc}: neonhub-db ${match[1]} ${flag}`).toContain(flag);
      }
    }
  });

  it("every flag shown with a neonhub-db command is one that command takes", () => {
    const used = mentions(/^\s*(?:npx )?neonhub-db ([a-z][\w-]*)([^\n#]*)/m).filter(({ match }) =>
      (COMMANDS as readonly string[]).includes(match[1]!),
    );
    // COMMAND_FLAGS is what the parser refuses a flag by (`--seed goes with plan or apply, not status`); a flag
    // it does not list goes with every command.
    let checked = 0;
    for (const { doc, match } of used) {
      for (const flag of match[2]!.match(/--[a-z][\w-]*/g) ?? []) {
        const takers = COMMAND_FLAGS[flag.slice(2) as keyof typeof COMMAND_FLAGS];
        if (!takers) continue;
        checked++;
        expect(takers, `${doc}: neonhub-db ${match[1]} ... ${flag}`).toContain(match[1]);
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it("docs/ write the CLI as `npx neonhub-db`, which runs when pasted (a bare neonhub-db is not on PATH)", () => {
    const bare = mentions(/^[ \t]*(?:[A-Z_]+=\S+ )*neonhub-db [a-z][^\n]*/m).filter(
      ({ doc }) => doc !== "README.md",
    );
    expect(bare.map(({ doc, match }) => `${doc}: ${match[0].trim()}`)).toEqual([]);
  });

  it("README's CLI block lists every neonhub-db command that --help lists", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## The release engine and its CLI"));
    const block = /```bash\n([\s\S]*?)```/.exec(section)![1]!;
    const listed = new Set([...block.matchAll(/^neonhub-db ([a-z][\w-]*)/gm)].map((m) => m[1]));
    for (const command of COMMANDS) {
      expect(USAGE).toMatch(new RegExp(`^  ${command}\\b`, "m"));
      expect([...listed], `README's CLI block: neonhub-db ${command}`).toContain(command);
    }
  });

  it("every script file run with node", () => {
    for (const { doc, match } of mentions(/node (scripts\/[\w./-]+\.js)/)) {
      expect(existsSync(path.join(ROOT, match[1]!)), `${doc}: ${match[1]}`).toBe(true);
    }
  });
});
