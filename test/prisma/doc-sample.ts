// Runs a TypeScript sample from docs/prisma.md as written, so the docs cannot drift from what works: the
// first ```ts block under a heading, its types stripped by esbuild, as the body of an async function whose
// parameters are the names the sample takes from the app (the transaction, ids, the vector).
import { readFileSync } from "node:fs";
import path from "node:path";
import { transformSync } from "esbuild";
import { PROJECT_ROOT } from "../../core";

const DOC = path.join(PROJECT_ROOT, "docs", "prisma.md");

/** The sample's code: the first ```ts block (```bash with `language` "bash") after the line `heading`. */
export function docSampleCode(heading: string, language = "ts"): string {
  const text = readFileSync(DOC, "utf8");
  const at = text.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`docs/prisma.md has no heading "${heading}": name one it has.`);
  const block = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(text.slice(at));
  if (!block) throw new Error(`docs/prisma.md has no \`\`\`${language} block after "${heading}".`);
  return block[1]!;
}

/**
 * The sample under `heading` as a function of `parameters`, returning the values of `results` (names the
 * sample declares) in an object.
 */
export function docSample<T>(
  heading: string,
  parameters: readonly string[],
  results: readonly string[],
): (...args: unknown[]) => Promise<T> {
  const body = `${docSampleCode(heading)}\nreturn { ${results.join(", ")} };`;
  const js = transformSync(`async function sample(${parameters.join(", ")}) {\n${body}\n}`, {
    loader: "ts",
  }).code;
  return new Function(`${js}\nreturn sample;`)() as (...args: unknown[]) => Promise<T>;
}
