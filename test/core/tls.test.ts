// sslmode as libpq reads it (core/dsn.ts, driverConfig), against a server whose certificate no CA of Node's
// signed, as RDS's is not: a loopback proxy that answers PostgreSQL's SSLRequest and ends TLS with a
// self-signed certificate made for the test, in front of the test cluster. Before, pg read sslmode=require as
// verify-full and refused that server, which the stacks' connection strings (sslmode=require) point at.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driverConfig } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase } from "../support/database";

/** PostgreSQL's SSLRequest code (protocol "SSL Session Encryption"). */
const SSL_REQUEST = 80877103;

interface TlsProxy {
  port: number;
  close: () => Promise<void>;
}

/** Listens on 127.0.0.1: TLS with `cert`/`key` towards the client, the plain protocol towards `upstream`. */
async function startTlsProxy(
  upstream: { host: string; port: number },
  cert: string,
  key: string,
): Promise<TlsProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => socket.destroy());
    socket.once("data", (first) => {
      if (first.length !== 8 || first.readInt32BE(4) !== SSL_REQUEST) return socket.destroy();
      socket.write("S");
      const secure = new tls.TLSSocket(socket, { isServer: true, cert, key });
      const server = net.connect(upstream.port, upstream.host);
      sockets.add(server);
      const end = () => {
        secure.destroy();
        server.destroy();
      };
      secure.on("error", end);
      server.on("error", end);
      secure.pipe(server).pipe(secure);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface CliError {
  code: string;
  message: string;
  fix: string;
}

describe("a server whose TLS certificate Node's CAs did not sign", () => {
  const db = useTestDatabase("tls");
  const folder = mkdtempSync(path.join(tmpdir(), "neonhub-tls-"));
  const certFile = path.join(folder, "server.pem");
  let proxy: TlsProxy;

  beforeAll(async () => {
    const keyFile = path.join(folder, "server.key");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        keyFile,
        "-out",
        certFile,
      ],
      { stdio: "ignore" },
    );
    const upstream = new URL(db.current.url);
    proxy = await startTlsProxy(
      { host: upstream.hostname, port: Number(upstream.port) },
      readFileSync(certFile, "utf8"),
      readFileSync(keyFile, "utf8"),
    );
  });
  afterAll(async () => {
    await proxy?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  /**
   * The test database's URL through the proxy, with `query` (sslmode and the like), at 127.0.0.1, the name
   * the certificate is for, or at `host`.
   */
  function throughProxy(query: string, host = "127.0.0.1"): string {
    const url = new URL(db.current.url);
    url.hostname = host;
    url.port = String(proxy.port);
    url.search = query;
    return url.toString();
  }

  async function status(query: string, host?: string) {
    const url = throughProxy(query, host);
    const run = await runCli(["status", "--json"], { DATABASE_URL: url });
    const password = new URL(url).password;
    if (password) expect(run.stdout + run.stderr).not.toContain(password);
    return {
      ...run,
      error: run.code === 1 ? (JSON.parse(run.stdout) as { error: CliError }).error : undefined,
    };
  }

  it("connects with sslmode=require (encrypted, the certificate not checked), without pg's SECURITY WARNING", async () => {
    const run = await status("?sslmode=require");
    expect(run.error).toBeUndefined();
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain("SECURITY WARNING");
  });

  it("checks the certificate with sslmode=verify-full: refused without the CA, with the fix; accepted with it", async () => {
    const refused = await status("?sslmode=verify-full");
    expect(refused.error).toMatchObject({
      code: "connection",
      message: expect.stringContaining("could not be verified"),
      fix: expect.stringContaining("sslrootcert="),
    });
    const withCa = `?sslmode=verify-full&sslrootcert=${encodeURIComponent(certFile)}`;
    const verified = await status(withCa);
    expect(verified.error).toBeUndefined();
    expect(verified.code).toBe(0);
    // The same server by another name than the certificate's.
    expect((await status(withCa, "localhost")).error).toMatchObject({
      code: "connection",
      message: expect.stringContaining("is not the name its TLS certificate was issued for"),
      fix: expect.stringContaining("sslmode=verify-ca"),
    });
  });

  it("checks the certificate against sslrootcert with sslmode=verify-ca, and refuses verify-ca without one", async () => {
    const verified = await status(`?sslmode=verify-ca&sslrootcert=${encodeURIComponent(certFile)}`);
    expect(verified.code).toBe(0);
    const refused = await status("?sslmode=verify-ca");
    expect(refused.error).toMatchObject({
      code: "invalid-input",
      message: expect.stringContaining("sslmode=verify-ca without sslrootcert"),
      fix: expect.stringContaining("sslrootcert=/path/to/ca.pem"),
    });
  });

  it("keeps pg's own sslmode=no-verify, and refuses an sslmode libpq does not know, naming the ones it does", async () => {
    expect((await status("?sslmode=no-verify")).code).toBe(0);
    // libpq's allow tries a plain connection first, which is all pg can make of it.
    expect(driverConfig(throughProxy("?sslmode=allow")).ssl).toBe(false);
    const refused = await status("?sslmode=requir");
    expect(refused.error).toMatchObject({
      code: "invalid-input",
      message: expect.stringContaining("has sslmode=requir"),
      fix: expect.stringContaining("disable, allow, prefer, require, verify-ca, verify-full, no-verify"),
    });
  });
});
