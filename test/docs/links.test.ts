// The README and docs/ link to each other's sections, and the CLI's messages send the operator to sections by
// anchor (docs/runbook.md#index-builds-on-a-big-table) or by title (docs/runbook.md, "Drift before a release").
// A heading renamed breaks them silently; these keep every one pointing at a section that exists.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";

const DOCUMENTS = [
  "README.md",
  ...readdirSync(path.join(PROJECT_ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const SOURCE_FOLDERS = ["core", "cli", "infra", "scripts"];

function read(file: string): string {
  return readFileSync(path.join(PROJECT_ROOT, file), "utf8");
}

/** A document's headings as written, without code fences' lines that start with `#`. */
function headings(file: string): string[] {
  const prose = read(file).replace(/^```[\s\S]*?^```/gm, "");
  return [...prose.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.replace(/`/g, "").trim());
}

/** The anchors GitHub gives a document: each heading's slug (repeats numbered), and each `<a id="...">`. */
function anchors(file: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const heading of headings(file)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    found.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const m of read(file).matchAll(/<a id="([^"]+)"/g)) found.add(m[1]!);
  return found;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(PROJECT_ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !e.parentPath.includes("node_modules"))
    .map((e) => path.relative(PROJECT_ROOT, path.join(e.parentPath, e.name)));
}

/**
 * `text` with its comments blanked (each character a space, its lines kept), as TypeScript parses the file: a
 * `//` or `/*` inside a string, a template or a regular expression starts none. Every comment is in the
 * trivia before some token (the end of the file's included), which the syntax tree's leaves hold.
 */
function withoutComments(file: string, text: string): string {
  const kind = file.endsWith(".js") ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, kind);
  const chars = text.split("");
  const blank = (node: ts.Node): void => {
    const children = node.getChildren(source);
    children.forEach(blank);
    if (children.length > 0) return;
    // The trivia before a token: the comments on the line the token before it ends on, then the lines after.
    const ranges = [
      ...(ts.getTrailingCommentRanges(text, node.pos) ?? []),
      ...(ts.getLeadingCommentRanges(text, node.pos) ?? []),
    ];
    for (const range of ranges) {
      for (let i = range.pos; i < range.end; i++) if (chars[i] !== "\n") chars[i] = " ";
    }
  };
  blank(source);
  return chars.join("");
}

/** The mentions of docs/runbook.md outside comments that name no section (anchor or title), as `file:line: text`. */
function bareRunbookMentions(file: string, text: string): string[] {
  const bare: string[] = [];
  if (!text.includes("docs/runbook.md")) return bare; // nothing to judge: spares the parse
  for (const [i, line] of withoutComments(file, text).split("\n").entries()) {
    for (const m of line.matchAll(/docs\/runbook\.md(?!#|, ")/g))
      bare.push(`${file}:${i + 1}: ${line.slice(Math.max(0, m.index - 40), m.index + 20).trim()}`);
  }
  return bare;
}

describe("links to the docs' sections", () => {
  it("every relative link of the README and docs/ names a file, and a section of it that exists", () => {
    let checked = 0;
    for (const doc of DOCUMENTS) {
      for (const [, target] of read(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [file, anchor] = target!.split("#");
        const linked = file ? path.normalize(path.join(path.dirname(doc), file)) : doc;
        expect(existsSync(path.join(PROJECT_ROOT, linked)), `${doc}: ${target}`).toBe(true);
        if (anchor && linked.endsWith(".md")) {
          expect([...anchors(linked)], `${doc}: ${target}`).toContain(anchor);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("every section the CLI's and the stack's messages name exists, by anchor or by title", () => {
    const refs: { source: string; doc: string; anchor?: string; title?: string }[] = [];
    for (const source of SOURCE_FOLDERS.flatMap(sourceFiles)) {
      const text = read(source);
      for (const m of text.matchAll(/((?:docs\/)?[\w-]+\.md)#([a-z0-9-]+)/g))
        refs.push({ source, doc: m[1]!, anchor: m[2]! });
      for (const m of text.matchAll(/((?:docs\/[a-z-]+|README)\.md), "([^"\n]+)"/g))
        refs.push({ source, doc: m[1]!, title: m[2]! });
    }
    expect(refs.length).toBeGreaterThan(5);
    for (const { source, doc, anchor, title } of refs) {
      expect(existsSync(path.join(PROJECT_ROOT, doc)), `${source}: ${doc}`).toBe(true);
      if (anchor) expect([...anchors(doc)], `${source}: ${doc}#${anchor}`).toContain(anchor);
      if (title) {
        const named = headings(doc).some((heading) => heading.startsWith(title));
        expect(named, `${source}: ${doc}, "${title}"`).toBe(true);
      }
    }
  });

  it("every message that sends the operator to the runbook names the section of its case", () => {
    // The runbook is long: "see docs/runbook.md" alone leaves its reader to search it. Comments aside, each
    // mention in the sources is a section's anchor or title, which the test above checks exists.
    const bare = SOURCE_FOLDERS.flatMap(sourceFiles).flatMap((source) =>
      bareRunbookMentions(source, read(source)),
    );
    expect(bare).toEqual([]);
  });

  it("judges only what is outside comments: a comment's mention passes, a string's after a // in it does not", () => {
    const sample = [
      "run(); // see docs/runbook.md",
      '/* docs/runbook.md */ const a = "docs/runbook.md#drift-before-release";',
      "/**",
      " * docs/runbook.md",
      " */",
      'const b = "https://example.com // docs/runbook.md";',
      "const c = `${a} // ${'docs/runbook.md'}`;",
      'const d = /\\/\\//.test(a) ? "docs/runbook.md" : `docs/runbook.md, "Drift before a release"`;',
      "const e = `",
      "  docs/runbook.md`; // docs/runbook.md",
    ].join("\n");
    expect(bareRunbookMentions("sample.ts", sample).map((m) => m.split(":")[1])).toEqual([
      "6",
      "7",
      "8",
      "10",
    ]);
  });
});
