// Reads a migration failure's report as a terminal shows it: where a token stands on its quoted line, and
// where the caret under that line points, both in characters (an emoji is one, not two UTF-16 units).

/** The column of `token` in the report line quoting it (`N | ...`), and the column of the caret below it. */
export function caretColumns(report: string, token: string): { token: number; caret: number } {
  const lines = report.split("\n");
  const at = lines.findIndex((l) => l.includes(token) && / \d+ \| /.test(l));
  const line = lines[at];
  if (line === undefined) throw new Error(`no quoted line holds ${JSON.stringify(token)} in:\n${report}`);
  return {
    token: Array.from(line.slice(0, line.indexOf(token))).length,
    caret: Array.from(lines[at + 1] ?? "").indexOf("^"),
  };
}
