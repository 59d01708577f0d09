// The stack program run by @pulumi/pulumi's own Node.js runtime, as `pulumi up` runs it: the language host
// (pulumi-language-nodejs, which cannot be built here: docs/engine.md) starts `node <@pulumi/pulumi>/cmd/run`
// with the engine's and the resource monitor's addresses and the stack's config in PULUMI_CONFIG, the CLI shows
// what the runtime logs to the engine, and an exit code of 32 tells the host that the program already reported
// its error (the host adds nothing). Here a small gRPC server plays the engine and the monitor: it records
// every log and answers each registration with a URN, so a program fails only by its own doing.
import { spawn } from "node:child_process";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { EngineService } from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engine from "@pulumi/pulumi/proto/engine_pb";
import { ResourceMonitorService } from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as monitor from "@pulumi/pulumi/proto/resource_pb";
import { PROJECT_ROOT } from "../../core";

const RUN_SCRIPT = path.join(path.dirname(require.resolve("@pulumi/pulumi/package.json")), "cmd", "run");

export interface ProgramRun {
  /** The runtime's exit code: 32 when it reported the program's error itself. */
  exitCode: number | null;
  /** What the runtime logged to the engine at error severity: what the CLI prints as the stack's errors. */
  errors: string[];
  /** What the process wrote to stdout and stderr, which the language host passes on. */
  output: string;
}

type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/**
 * Runs the project's program (index.ts, in `root`: the project or a copy of it) for `stack` with `config` (full
 * keys) as a `pulumi preview` would.
 */
export async function runProgram(
  stack: string,
  config: Record<string, string>,
  root = PROJECT_ROOT,
): Promise<ProgramRun> {
  const errors: string[] = [];
  let rootUrn = "";
  const log: Unary<engine.LogRequest, Empty> = (call, done) => {
    if (call.request.getSeverity() === engine.LogSeverity.ERROR) errors.push(call.request.getMessage());
    done(null, new Empty());
  };
  const server = new grpc.Server();
  server.addService(EngineService, {
    log,
    getRootResource: ((_call, done) =>
      done(null, new engine.GetRootResourceResponse().setUrn(rootUrn))) satisfies Unary<
      engine.GetRootResourceRequest,
      engine.GetRootResourceResponse
    >,
    setRootResource: ((call, done) => {
      rootUrn = call.request.getUrn();
      done(null, new engine.SetRootResourceResponse());
    }) satisfies Unary<engine.SetRootResourceRequest, engine.SetRootResourceResponse>,
  });
  server.addService(ResourceMonitorService, {
    supportsFeature: ((_call, done) =>
      done(null, new monitor.SupportsFeatureResponse().setHassupport(false))) satisfies Unary<
      monitor.SupportsFeatureRequest,
      monitor.SupportsFeatureResponse
    >,
    registerResource: ((call, done) => {
      const urn = `urn:pulumi:${stack}::neonhub-db::${call.request.getType()}::${call.request.getName()}`;
      done(null, new monitor.RegisterResourceResponse().setUrn(urn).setObject(Struct.fromJavaScript({})));
    }) satisfies Unary<monitor.RegisterResourceRequest, monitor.RegisterResourceResponse>,
    registerResourceOutputs: ((_call, done) => done(null, new Empty())) satisfies Unary<
      monitor.RegisterResourceOutputsRequest,
      Empty
    >,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  try {
    const address = `127.0.0.1:${port}`;
    const args = [
      RUN_SCRIPT,
      `--monitor=${address}`,
      `--engine=${address}`,
      "--project=neonhub-db",
      `--stack=${stack}`,
      `--pwd=${root}`,
      "--dry-run",
      ".",
    ];
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env))
      if (/^(PULUMI_|PG[A-Z]+$|DIRECT_URL$|DATABASE_URL$)/.test(key)) delete env[key];
    Object.assign(env, {
      PULUMI_CONFIG: JSON.stringify(config),
      PULUMI_CONFIG_SECRET_KEYS: "[]",
      // Pulumi.yaml's `typescript: true`, as the host passes it; transpiled only, as the suite type-checks.
      PULUMI_NODEJS_TYPESCRIPT: "true",
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    });
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    return { exitCode, errors, output };
  } finally {
    server.forceShutdown();
  }
}
