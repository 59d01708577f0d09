// The files and folders a command line names, checked with the rest of the command line (cli/main.ts,
// releaseOptions): before the command looks for a database URL, so that a mistyped path is named as such
// whether or not a URL was given, and nothing connects to learn it.
import path from "node:path";
import { checkMigrationsFolder, chunkFileStats } from "../core";
import type { CliArgs } from "./args";

/**
 * Refuses a --migrations-dir that is no folder and a load-chunks --file that is no file, each in the words its
 * reader uses once connected (the one check of each). --config is read with the release settings, also before
 * the URL; --out is the file prisma-schema writes, which may well not exist yet.
 */
export function refuseMissingPaths(args: CliArgs): void {
  if (args.migrationsDir !== undefined) {
    checkMigrationsFolder({
      migrationsDir: path.resolve(args.migrationsDir),
      migrationsDirAsGiven: args.migrationsDir,
    });
  }
  if (args.command === "load-chunks" && args.file !== undefined) chunkFileStats(args.file);
}
