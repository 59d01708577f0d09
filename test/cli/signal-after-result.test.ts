// A signal after a command's result is printed, while its connection closes: the result stands. With --json
// stdout holds that one document (no second, "interrupted", document), the exit code is the result's, and
// stderr says the signal came after the result. The moment is held, not timed: the CLI connects through a
// loopback proxy that, once the CLI ends its first connection (its session, which ends after the result is
// printed: revert's session wraps its printing, as the other commands' connections do not), keeps the CLI's
// side open until the test lets it go, so the CLI waits in its close.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { useTestDatabase } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { startCli, waitUntil } from "../support/kill-points";

const db = useTestDatabase("lateSignal");
const dir = fixtureMigrationsCopy();
const GADGETS = "20250101000300_gadgets";

/** A proxy to the test database that holds the close of each run's first connection until `letGo`. */
class ClosingProxy {
  private readonly server = net.createServer({ allowHalfOpen: true }, (cli) => this.connected(cli));
  private connections = 0;
  private held: net.Socket | undefined;
  /** Whether the CLI has ended its first connection, whose close the proxy now holds. */
  closing = false;

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Starts a new run: its first connection is held again. */
  reset(): void {
    this.connections = 0;
    this.closing = false;
  }

  letGo(): void {
    this.held?.end();
    this.held = undefined;
  }

  close(): Promise<void> {
    this.letGo();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private connected(cli: net.Socket): void {
    const first = ++this.connections === 1;
    const target = new URL(db.current.url);
    const upstream = net.connect(Number(target.port), target.hostname);
    cli.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => cli.write(d));
    cli.on("end", () => {
      if (first) this.closing = true;
      upstream.end();
    });
    upstream.on("end", () => {
      if (first) this.held = cli;
      else cli.end();
    });
    cli.on("error", () => upstream.destroy());
    upstream.on("error", () => cli.destroy());
  }
}

const proxy = new ClosingProxy();
let proxiedUrl: string;

beforeAll(async () => {
  const port = await proxy.listen();
  const url = new URL(db.current.url);
  url.port = String(port);
  proxiedUrl = url.toString();
  const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  expect(apply.code, apply.stderr).toBe(0);
});

afterAll(() => proxy.close());

/** Runs `args` through the proxy; signals it once its result is printed and it waits in its close. */
async function signalAfterResult(
  args: string[],
  signal: NodeJS.Signals,
  printed: (stdout: string) => boolean,
) {
  proxy.reset();
  const run = startCli([...args, "--migrations-dir", dir], { DATABASE_URL: proxiedUrl });
  try {
    await waitUntil(
      "the result printed and the session closing",
      async () => printed(run.stdout()) && proxy.closing,
      {
        while: run.running,
      },
    );
    run.child.kill(signal);
    await waitUntil(
      "the signal said on stderr",
      async () => run.stderr().includes("after the result was printed"),
      { while: run.running },
    );
  } finally {
    proxy.letGo();
  }
  return { ...(await run.done), stdout: run.stdout(), stderr: run.stderr() };
}

/** stdout as a JSON document, once it is whole. */
function wholeDocument(stdout: string): { confirmed?: boolean } | undefined {
  try {
    return JSON.parse(stdout) as { confirmed?: boolean };
  } catch {
    return undefined;
  }
}

describe("a signal after the result is printed, while the session closes", () => {
  it("revert --confirm --json: one document, the result's; exit 0; the signal said on stderr", async () => {
    writeMigration(
      dir,
      "20991231000000_note.sql",
      'ALTER TABLE "Widget" ADD COLUMN note text;',
      'ALTER TABLE "Widget" DROP COLUMN note;',
    );
    const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(apply.code, apply.stderr).toBe(0);

    const result = await signalAfterResult(
      ["revert", "--to", GADGETS, "--confirm", "--json"],
      "SIGTERM",
      (stdout) => wholeDocument(stdout)?.confirmed === true,
    );
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    // One document: the revert's result, whole.
    const document = JSON.parse(result.stdout) as { confirmed: boolean; error?: unknown };
    expect(document).toMatchObject({ confirmed: true });
    expect(document.error).toBeUndefined();
    expect(result.stderr).toContain(
      "neonhub-db: SIGTERM after the result was printed: the result stands as printed",
    );
    expect(result.stderr).not.toContain("interrupted");
  });

  it("the revert preview (text): its plan, its exit code (2: a revert to confirm), the signal said after it", async () => {
    const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(apply.code, apply.stderr).toBe(0);
    const result = await signalAfterResult(["revert", "--to", GADGETS], "SIGINT", (stdout) =>
      stdout.includes("--expect-last"),
    );
    expect(result.signal).toBeNull();
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^Revert plan for /);
    expect(result.stderr).toContain("neonhub-db: SIGINT after the result was printed");
    expect(result.stderr).not.toContain("interrupted");
  });
});
