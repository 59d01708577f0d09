// How an error about a setting shows the value it refused. A value read from a file (--config) is never
// echoed: the file may be the wrong one (a pgpass line, a .env file, a binary), and its content would reach
// the terminal, CI logs and --json. A value the operator typed (--set, a flag, a stack's config key) is
// echoed when it is short, as it helps to see "hsnw" for "hnsw"; a long one is described instead.

/** Longest typed text an error echoes: a setting's value is a word or a size, never a paragraph. */
const LONGEST_ECHOED = 40;

/** What kind of value it is, in words: "a string", "a list", "an object", "a number", "true or false". */
export function kindOfValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "true or false";
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

/** Whether settings named by `source` ("--config release.yaml", "--config f and --set") came from a file. */
export function isFromFile(source: string): boolean {
  return source.startsWith("--config");
}

/**
 * `value` as an error about it may show it, after "got ": the JSON of a number, true/false, null or short
 * typed text; else its kind ("a string of 37 characters", "an object"). A number, even from a file, is
 * shown: a range refusal is read by its number, and a number is not a password.
 */
export function shownValue(value: unknown, source: string): string {
  // JSON has no Infinity: --set x=1e999 reads as one, which JSON.stringify would show as null.
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (value === null || typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "string") {
    return !isFromFile(source) && value.length <= LONGEST_ECHOED
      ? JSON.stringify(value)
      : `a string of ${value.length} characters`;
  }
  if (isFromFile(source)) return kindOfValue(value);
  const json = jsonOf(value);
  return json !== undefined && json.length <= LONGEST_ECHOED ? json : kindOfValue(value);
}

/** The JSON of a value, or undefined for one that has none: a YAML alias inside itself (`&a {x: *a}`) is a cycle. */
function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * A JSON syntax error of a file's text as an error may show it: the parser's words and position, without the
 * text it quotes. V8 quotes up to 10 characters either side of the fault, the whole text when it is 20 or
 * fewer (`Unexpected token 'h', "h:5432:*:app:pw" is not valid JSON`): a file given by mistake (a pgpass
 * line, a .env file) would have its content printed, as a --config file's never is.
 */
export function jsonSyntaxProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(
    /, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/,
    "; the text around it is not shown",
  );
}
