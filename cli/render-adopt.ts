// Human-readable output of `neonhub-db adopt`.
import { commandToRun, type AdoptResult, type CommandPrinter } from "../core";

/** `print`: how the next command to run on this database is printed (ReleaseOptions.printCommand). */
export function renderAdopt(result: AdoptResult, print?: CommandPrinter): string {
  if (!result.changed) {
    return [
      `Nothing to do: ${result.database} is adopted already (${result.adopted.length} migration(s) from ${result.upstreamLedger.to}); nothing was changed.`,
      pendingLine(result, print),
    ].join("\n");
  }
  const lines = [
    `Adopted ${result.database}: ${result.adopted.length} migration(s) recorded as applied (schema proven equal)`,
    ...result.adopted.map((name) => `  = ${name}`),
    `  ${result.upstreamLedger.from} moved to ${result.upstreamLedger.to} (kept as history)`,
  ];
  for (const object of result.extraObjects) lines.push(`  not managed by the release: ${object}`);
  lines.push(...renderHandedOver(result.handedOver));
  lines.push(pendingLine(result, print));
  return lines.join("\n");
}

function pendingLine(result: AdoptResult, print: CommandPrinter | undefined): string {
  return result.pending.length > 0
    ? `${result.pending.length} migration(s) not applied yet: ${commandToRun(print, ["apply"])} runs them.`
    : `The database is at the last migration: ${commandToRun(print, ["verify"])} checks it.`;
}

/** The objects adopt or baseline handed to the owner role, a line each, naming the owner they had. */
export function renderHandedOver(handedOver: AdoptResult["handedOver"]): string[] {
  if (handedOver.length === 0) return [];
  return [
    `  ${handedOver.length} object(s) the migrations created handed to the owner role:`,
    ...handedOver.map(({ object, from }) => `    ${object} (was ${from})`),
  ];
}
