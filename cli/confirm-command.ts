// The command that confirms a revert preview: the preview's own arguments with `--confirm --expect-last
// <the ledger's last migration it saw>`, so that the confirm acts on the database, folder and options the
// operator reviewed, and is refused if a release moved the ledger since (core/revert.ts, refuseMovedLedger).

/** The variables a --database-url is usually given from (`--database-url "$DIRECT_URL"`, docs/runbook.md). */
const URL_VARIABLES = ["DIRECT_URL", "DATABASE_URL"] as const;

/** One argument as a POSIX shell reads it back: bare when it holds only safe characters, else single-quoted. */
function shellWord(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * A --database-url value as the command shows it: `"$DIRECT_URL"` when it is that variable's value (the
 * password stays out of the line, and the copied command connects as the preview did); any other is shown as
 * given, its password masked as every printed line's is (cli/main.ts).
 */
function databaseUrlWord(url: string, env: NodeJS.ProcessEnv): string {
  const variable = URL_VARIABLES.find((name) => env[name] === url);
  return variable ? `"$${variable}"` : shellWord(url);
}

/** `neonhub-db <preview args> --confirm --expect-last <last>`, each argument quoted for a POSIX shell. */
export function revertConfirmCommand(
  previewArgv: readonly string[],
  lastMigration: string,
  env: NodeJS.ProcessEnv,
): string {
  const words: string[] = ["neonhub-db"];
  for (let i = 0; i < previewArgv.length; i++) {
    const arg = previewArgv[i]!;
    if (arg === "--database-url" && i + 1 < previewArgv.length) {
      words.push(arg, databaseUrlWord(previewArgv[++i]!, env));
    } else if (arg.startsWith("--database-url=")) {
      words.push(`--database-url=${databaseUrlWord(arg.slice("--database-url=".length), env)}`);
    } else {
      words.push(shellWord(arg));
    }
  }
  return [...words, "--confirm", "--expect-last", shellWord(lastMigration)].join(" ");
}
