// The files and folders a command line names, checked with the rest of the command line (cli/main.ts,
// releaseOptions): before the command looks for a database URL, so that a mistyped path is named as such
// whether or not a URL was given, and nothing connects to learn it.
import path from "node:path";
import { checkMigrationsFolder, checkSchemaFile, chunkFileStats, type CommandPrinter } from "../core";
import type { CliArgs } from "./args";

/**
 * Refuses a --migrations-dir that is no folder, a load-chunks --file that is no file, and prisma-schema's --out
 * that is no file (with --check: a file that cannot be read, or is no Prisma schema), each in the words its
 * reader uses once connected (the one check of each); `print` writes the commands their fixes name. --config is
 * read with the release settings, also before the URL; prisma-schema's --out without --check is the file it
 * writes, which may well not exist yet.
 */
export function refuseMissingPaths(args: CliArgs, print: CommandPrinter): void {
  if (args.migrationsDir !== undefined) {
    checkMigrationsFolder({
      migrationsDir: path.resolve(args.migrationsDir),
      migrationsDirAsGiven: args.migrationsDir,
    });
  }
  if (args.command === "load-chunks" && args.file !== undefined) chunkFileStats(args.file);
  if (args.command === "prisma-schema") {
    checkSchemaFile({ out: args.out, check: args.check, printCommand: print });
  }
}
