// A section's statements as they run, which is what the lint weighs and revert's preview lists: each statement as
// written, a DO block's SQL commands in its place (do-blocks.ts), and after a statement that calls a function
// the section defines, the commands of that function's body (called-functions.ts), once, in the order they run.
import { definedFunctions, callsIn, type DefinedFunction } from "./called-functions";
import { doBlockCommands, type BodyCommands } from "./do-blocks";
import { blank, type Statement } from "./statements";

/** A body the lint could not read (a DO block's, or a called function's), and where. */
export interface UnreadBody {
  /** The DO block, or the CREATE FUNCTION of the function called. */
  block: Statement;
  /** Where it is, an offset in the file: the EXECUTE, or the block's or function's start. */
  offset: number;
  why: "dynamic" | "language";
  /** The called function whose body it is, as written; absent for a DO block. */
  function?: string;
}

/** A section's statements as they run: what the lint weighs. */
export interface StatementsRun {
  /** Each statement as written, a DO block's SQL commands in its place (the block itself when it has none),
   *  and a called function's commands after the statement that calls it, in place of its CREATE FUNCTION
   *  (kept when the body has none). The first command carries the block's or function's own comments, so
   *  that an exemption written above it accepts a finding of its first command, as it would of a statement. */
  statements: Statement[];
  unread: UnreadBody[];
}

export function statementsRun(written: readonly Statement[]): StatementsRun {
  const defined = definedFunctions(written);
  const statements: Statement[] = [];
  const unread: UnreadBody[] = [];
  const followed = new Set<DefinedFunction>();
  // The CREATE FUNCTIONs whose comments went to a command their function's body runs, or one a function it
  // calls runs: kept as statements (a body that runs no command), they no longer carry them.
  const handedOn = new Set<Statement>();
  const follow = (called: readonly DefinedFunction[], carried: Carried = NOTHING_CARRIED): Carried => {
    let left = carried;
    for (const fn of called) {
      // Once: a second call runs the same statements on the same tables, and a function may call itself.
      if (followed.has(fn)) continue;
      followed.add(fn);
      unread.push(...fn.body.unread.map((u) => ({ block: fn.statement, ...u, function: fn.name })));
      const after = runBody(fn.body, {
        comments: [...left.comments, ...fn.statement.comments],
        from: [...left.from, fn.statement],
      });
      // Handed on within the function, or not at all: a function that runs no command keeps its own comments
      // (on its CREATE FUNCTION), and the caller's go on to what runs next.
      left = after.from.includes(fn.statement) ? left : NOTHING_CARRIED;
    }
    return left;
  };
  // A body's commands in its order, each followed by what the functions its statement calls run. The body's
  // comments go to the first command it runs: its own, or, before any, one a function it calls runs.
  const runBody = (body: BodyCommands, comments: Carried): Carried => {
    let carried = comments;
    for (const piece of body.pieces) {
      const command = body.commands.find((c) => c.end === piece.end);
      if (command) {
        statements.push({ ...command, comments: [...carried.comments, ...command.comments] });
        carried.from.forEach((statement) => handedOn.add(statement));
        carried = NOTHING_CARRIED;
      }
      carried = follow(callsIn(piece, defined), carried);
    }
    return carried;
  };
  for (const statement of written) {
    const block = doBlockCommands(statement);
    if (!block) {
      statements.push(statement);
      follow(callsIn(statement, defined));
      continue;
    }
    if (block.commands.length === 0) statements.push(statement);
    unread.push(...block.unread.map((u) => ({ block: statement, ...u })));
    // A block that runs no command of its own is itself a statement, and keeps its comments.
    runBody(
      block,
      block.commands.length === 0 ? NOTHING_CARRIED : { comments: statement.comments, from: [] },
    );
  }
  const read = new Set([...followed].filter((fn) => fn.body.commands.length > 0).map((fn) => fn.statement));
  return {
    statements: statements
      .filter((s) => !read.has(s))
      .map((s) => (handedOn.has(s) ? { ...s, comments: [] } : s)),
    unread,
  };
}

/** Comments on their way to the first command a body runs, and the statements they were written above. */
interface Carried {
  comments: readonly string[];
  from: readonly Statement[];
}

const NOTHING_CARRIED: Carried = { comments: [], from: [] };

/**
 * `text` as squawk is to read it: each DO block and called function whose commands `run` holds blanked but for
 * those commands, in their places, so that squawk reads them as statements of their own and points where they
 * are in the file.
 */
export function textWithBlocksRead(text: string, written: readonly Statement[], run: StatementsRun): string {
  let out = text;
  for (const statement of written) {
    if (run.statements.includes(statement)) continue;
    out =
      out.slice(0, statement.start) +
      blank(text.slice(statement.start, statement.end)) +
      out.slice(statement.end);
  }
  for (const command of run.statements) {
    if (written.includes(command)) continue;
    out = out.slice(0, command.start) + text.slice(command.start, command.end) + out.slice(command.end);
  }
  return out;
}
