// The database URL a command takes when no --database-url is given: the one rule the CLI reads it by and the
// printed commands name it by (cli/main.ts, cli/confirm-command.ts).

/** The variables read, in order: the migrator's (DIRECT_URL), else the app's (DATABASE_URL). */
const ENVIRONMENT_URL_VARIABLES = ["DIRECT_URL", "DATABASE_URL"] as const;

/** The URL the environment gives and the variable that holds it; undefined when neither is set (or empty). */
export function urlFromEnvironment(env: NodeJS.ProcessEnv): { url: string; variable: string } | undefined {
  for (const variable of ENVIRONMENT_URL_VARIABLES) {
    const url = env[variable];
    if (url) return { url, variable };
  }
  return undefined;
}
