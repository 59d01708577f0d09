// Progress of a calibration. On a table of any size it takes longer than the build it follows (20,000 chunks of
// 3,072 dimensions: the build 19 s, the index's calibration 40 s, the tenant search's 98-172 s), and until
// it ends the apply said nothing, which reads as hung. While one runs, a line every progressIntervalMs says how
// long it has run and how many statements it has sent, as the build's progress lines do (progress.ts). It
// changes no measurement: the statements are counted as they are sent, and a line is written between them.
import type { ClientBase } from "pg";
import { formatCount } from "../count-format";
import type { Logger } from "../logger";

/** A client whose query() counts the statements sent (what a calibration costs the server). */
export function countingClient(client: ClientBase, counter: { statements: number }): ClientBase {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  return new Proxy(client, {
    get(target, property) {
      if (property !== "query") return Reflect.get(target, property) as unknown;
      return (...args: unknown[]) => {
        counter.statements++;
        return query(...args);
      };
    },
  });
}

/**
 * Runs `calibrate` on a counting client, writing `<label>: N s so far, M statements sent` every `intervalMs`
 * until it settles.
 */
export async function withCalibrationProgress<T>(
  client: ClientBase,
  { label, intervalMs, log }: { label: string; intervalMs: number; log: Logger },
  calibrate: (client: ClientBase) => Promise<T>,
): Promise<T> {
  const counter = { statements: 0 };
  const started = Date.now();
  const timer = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    log.info(`${label}: ${seconds} s so far, ${formatCount(counter.statements)} statements sent`);
  }, intervalMs);
  try {
    return await calibrate(countingClient(client, counter));
  } finally {
    clearInterval(timer);
  }
}
