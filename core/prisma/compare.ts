// Where a committed Prisma schema and the one rendered from the database disagree, named by model (or enum)
// and field: what `neonhub-db prisma-schema --check` and the schema-sync test report.

export interface SchemaDifference {
  /** `model Chunk`, `enum MessageRole`, `generator client`, `datasource db`, or `header`. */
  block: string;
  /** The field, the enum label or the block attribute (`@@index([...])`); undefined for a whole block. */
  item?: string;
  /** The line as the database has it; undefined when the database has no such thing. */
  database?: string;
  /** The line as the file has it; undefined when the file has no such thing. */
  file?: string;
}

interface Block {
  /** item → its whole line, whitespace collapsed. */
  items: Map<string, string>;
}

function parse(text: string): { blocks: Map<string, Block>; header: string } {
  const blocks = new Map<string, Block>();
  const header: string[] = [];
  let current: Block | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim().replace(/\s+/g, " ");
    const open = /^(model|enum|generator|datasource|view|type) (\w+) \{$/.exec(line);
    if (open) {
      current = { items: new Map() };
      blocks.set(`${open[1]} ${open[2]}`, current);
    } else if (line === "}") {
      current = undefined;
    } else if (!current) {
      if (line) header.push(line);
    } else if (line && !line.startsWith("//")) {
      // A field's (or label's, or setting's) name is its first word; a block attribute is keyed by itself.
      const key = line.startsWith("@@") ? line : line.split(/[ =]/)[0]!;
      current.items.set(key, line);
    }
  }
  return { blocks, header: header.join("\n") };
}

/**
 * Whether `text` reads as a Prisma schema: at least one model, generator or datasource block. A file that has
 * none (another file named by mistake, a truncated one) is not compared, or every block would be a difference.
 */
export function readsAsPrismaSchema(text: string): boolean {
  return [...parse(text).blocks.keys()].some((block) => /^(model|generator|datasource) /.test(block));
}

/** Every difference, in the database's order; empty when the two say the same (comments aside). */
export function compareSchemas(database: string, file: string): SchemaDifference[] {
  const fromDatabase = parse(database);
  const fromFile = parse(file);
  const differences: SchemaDifference[] = [];
  for (const [block, { items }] of fromDatabase.blocks) {
    const other = fromFile.blocks.get(block);
    if (!other) {
      differences.push({ block, database: `${block} { ... }` });
      continue;
    }
    for (const [item, line] of items) {
      const theirs = other.items.get(item);
      if (theirs !== line)
        differences.push({ block, item, database: line, ...(theirs ? { file: theirs } : {}) });
    }
    for (const [item, line] of other.items) {
      if (!items.has(item)) differences.push({ block, item, file: line });
    }
  }
  for (const block of fromFile.blocks.keys()) {
    if (!fromDatabase.blocks.has(block)) differences.push({ block, file: `${block} { ... }` });
  }
  if (differences.length === 0 && database !== file) {
    differences.push({
      block: "header",
      database: "the generated comments",
      file: "other comments or layout",
    });
  }
  return differences;
}

/** One line per difference, for people: `model Chunk, field organizationId: database has ..., file has none`. */
export function describeDifference(difference: SchemaDifference): string {
  const where = difference.item
    ? `${difference.block}, ${difference.item.startsWith("@@") ? "" : "field "}${difference.item}`
    : difference.block;
  const database = difference.database
    ? `the database has \`${difference.database}\``
    : "the database has none";
  const file = difference.file ? `the file has \`${difference.file}\`` : "the file has none";
  return `${where}: ${database}; ${file}`;
}
