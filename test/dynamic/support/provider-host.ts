// @pulumi/pulumi's own dynamic-provider host, started and driven the way the Pulumi engine does it: a child
// process `node <@pulumi/pulumi>/cmd/dynamic-provider/index.js <engine address>` that prints its port, then
// the ResourceProvider gRPC service with `__provider` among every request's properties.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as proto from "@pulumi/pulumi/proto/provider_pb";
import { Status } from "@pulumi/pulumi/proto/status_pb";

export type Props = Record<string, unknown>;

/** A failed call; `initFailure` is set when the provider reported the outputs the engine should record. */
export class HostCallError extends Error {
  constructor(
    message: string,
    readonly initFailure?: { id: string; properties: Props; reasons: string[] },
  ) {
    super(message);
  }
}

export interface ProviderHost {
  /** Everything the host wrote to stdout and stderr so far. */
  output(): string;
  /**
   * The output once it matches `pattern`. A line the provider writes before answering may reach this process
   * after the answer (separate pipes), so a test waits for it rather than reading the output at once.
   */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  configure(): Promise<void>;
  check(
    urn: string,
    olds: Props,
    news: Props,
  ): Promise<{ inputs: Props; failures: { property: string; reason: string }[] }>;
  diff(
    urn: string,
    id: string,
    olds: Props,
    news: Props,
  ): Promise<{ changes: "none" | "some" | "unknown"; replaces: string[] }>;
  create(urn: string, properties: Props): Promise<{ id: string; properties: Props }>;
  read(urn: string, id: string, properties: Props): Promise<{ id: string; properties: Props }>;
  update(urn: string, id: string, olds: Props, news: Props): Promise<{ properties: Props }>;
  delete(urn: string, id: string, properties: Props): Promise<void>;
  stop(): Promise<void>;
}

const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const HOST_SCRIPT = path.join(PULUMI_DIR, "cmd", "dynamic-provider", "index.js");
const CALL_TIMEOUT_MS = 120_000;

export interface HostOptions {
  /** The host's working directory: the project root, as under the Pulumi CLI. */
  cwd: string;
  /** Environment variables to set (a value of undefined removes one). */
  env?: Record<string, string | undefined>;
}

export async function startProviderHost(options: HostOptions): Promise<ProviderHost> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing from this test process's Pulumi settings or database defaults may leak into the host.
  for (const key of Object.keys(env))
    if (/^(PULUMI_|PG[A-Z]+$|DIRECT_URL$|DATABASE_URL$)/.test(key)) delete env[key];
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  // The engine address is required but never dialled by the host.
  const child = spawn(process.execPath, [HOST_SCRIPT, "127.0.0.1:1"], {
    cwd: options.cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = /^(\d+)\n/.exec(stdout);
      if (line) {
        child.stdout.off("data", onData);
        child.stdout.on("data", (more: Buffer) => (output += more.toString()));
        output += stdout.slice(line[0].length);
        resolve(Number(line[1]));
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`the provider host exited (${code}) before printing its port:\n${output}`)),
    );
    setTimeout(
      () => reject(new Error(`the provider host printed no port within 30 s:\n${output}`)),
      30_000,
    ).unref();
  });
  const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return hostClient(client, child, () => output);
}

function struct(value: Props): Struct {
  return Struct.fromJavaScript(value as Parameters<typeof Struct.fromJavaScript>[0]);
}

function toProps(value: Struct | undefined): Props {
  return (value?.toJavaScript() ?? {}) as Props;
}

function callError(error: grpc.ServiceError): HostCallError {
  const [details] = error.metadata?.get("grpc-status-details-bin") ?? [];
  if (details instanceof Buffer) {
    for (const any of Status.deserializeBinary(details).getDetailsList()) {
      const failed = any.unpack(
        proto.ErrorResourceInitFailed.deserializeBinary,
        "pulumirpc.ErrorResourceInitFailed",
      );
      if (failed) {
        return new HostCallError(error.details, {
          id: failed.getId(),
          properties: toProps(failed.getProperties()),
          reasons: failed.getReasonsList(),
        });
      }
    }
  }
  return new HostCallError(error.details || error.message);
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

function call<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new grpc.Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (error, response) =>
      error ? reject(callError(error)) : resolve(response),
    );
  });
}

function hostClient(client: ResourceProviderClient, child: ChildProcess, output: () => string): ProviderHost {
  const bind = <Req, Res>(method: Unary<Req, Res>) => method.bind(client) as Unary<Req, Res>;
  return {
    output,
    async waitFor(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      const matches = () =>
        typeof pattern === "string" ? output().includes(pattern) : pattern.test(output());
      while (!matches()) {
        if (Date.now() > deadline)
          throw new Error(`the host never printed ${String(pattern)}; it printed:\n${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return output();
    },
    async configure() {
      const request = new proto.ConfigureRequest();
      request.setArgs(struct({}));
      const response = await call(bind(client.configure), request);
      if (response.getAcceptsecrets()) throw new Error("the host now accepts secrets: revisit the provider");
    },
    async check(urn, olds, news) {
      const request = new proto.CheckRequest();
      request.setUrn(urn);
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call(bind(client.check), request);
      return {
        inputs: toProps(response.getInputs()),
        failures: response
          .getFailuresList()
          .map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
      };
    },
    async diff(urn, id, olds, news) {
      const request = new proto.DiffRequest();
      request.setUrn(urn);
      request.setId(id);
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call(bind(client.diff), request);
      const kinds = {
        [proto.DiffResponse.DiffChanges.DIFF_NONE]: "none",
        [proto.DiffResponse.DiffChanges.DIFF_SOME]: "some",
      } as const;
      return {
        changes: kinds[response.getChanges() as keyof typeof kinds] ?? "unknown",
        replaces: response.getReplacesList(),
      };
    },
    async create(urn, properties) {
      const request = new proto.CreateRequest();
      request.setUrn(urn);
      request.setProperties(struct(properties));
      const response = await call(bind(client.create), request);
      return { id: response.getId(), properties: toProps(response.getProperties()) };
    },
    async read(urn, id, properties) {
      const request = new proto.ReadRequest();
      request.setUrn(urn);
      request.setId(id);
      request.setProperties(struct(properties));
      const response = await call(bind(client.read), request);
      return { id: response.getId(), properties: toProps(response.getProperties()) };
    },
    async update(urn, id, olds, news) {
      const request = new proto.UpdateRequest();
      request.setUrn(urn);
      request.setId(id);
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call(bind(client.update), request);
      return { properties: toProps(response.getProperties()) };
    },
    async delete(urn, id, properties) {
      const request = new proto.DeleteRequest();
      request.setUrn(urn);
      request.setId(id);
      request.setProperties(struct(properties));
      await call(bind(client.delete), request);
    },
    async stop() {
      client.close();
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill();
      await exited;
    },
  };
}
