// The pack as the Pulumi CLI runs it: `pulumi-analyzer-policy` starts @pulumi/pulumi's run-policy-pack in the
// pack's folder with the stack's name in the environment; run-policy-pack compiles index.ts with type-checking
// and serves the analyzer on a loopback port. These tests talk to that server over gRPC like the engine does.
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeRequest,
  AnalyzerResourceOptions,
  EnforcementLevel,
  type AnalyzeDiagnostic,
  type AnalyzerInfo,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compliantInstance, TYPES } from "./fixtures";
import { PROJECT } from "./harness";

const PACK_DIR = path.resolve(__dirname, "..", "..", "policy");
const STARTUP_TIMEOUT_MS = 120_000;

interface RunningPack {
  process: ChildProcess;
  client: AnalyzerClient;
}

/** Starts the pack like the CLI does and resolves once it prints the port it serves on. */
function startPack(stack: string): Promise<RunningPack> {
  const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [PACK_DIR] });
  const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_STACK: stack, PULUMI_PROJECT: PROJECT };
  delete env.PULUMI_NODEJS_STACK;
  // The first argument is the engine's address, which a policy pack never dials.
  const child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:1", "."], {
    cwd: PACK_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const fail = (why: string) => {
      child.kill();
      reject(new Error(`policy pack for ${stack} ${why}\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`printed no port in ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => fail(`exited with ${code}`));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const port = /^(\d+)$/m.exec(stdout)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      resolve({ process: child, client });
    });
  });
}

function stopPack(pack: RunningPack | undefined): void {
  if (!pack) return;
  pack.client.close();
  pack.process.kill();
}

async function analyze(pack: RunningPack, stack: string, props: object): Promise<AnalyzeDiagnostic[]> {
  const request = new AnalyzeRequest()
    .setType(TYPES.instance)
    .setName("db")
    .setUrn(`urn:pulumi:${stack}::${PROJECT}::${TYPES.instance}::db`)
    .setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(props))))
    .setOptions(new AnalyzerResourceOptions());
  return new Promise((resolve, reject) =>
    pack.client.analyze(request, (error, response) =>
      error ? reject(error) : resolve(response.getDiagnosticsList()),
    ),
  );
}

function analyzerInfo(pack: RunningPack): Promise<AnalyzerInfo> {
  return new Promise((resolve, reject) =>
    pack.client.getAnalyzerInfo(new Empty(), (error, info) => (error ? reject(error) : resolve(info))),
  );
}

const packs: Partial<Record<"dev" | "prod", RunningPack>> = {};

beforeAll(async () => {
  // allSettled, so that a pack which did start is still stopped in afterAll when the other one failed.
  const [dev, prod] = await Promise.allSettled([startPack("dev"), startPack("prod")]);
  if (dev.status === "fulfilled") packs.dev = dev.value;
  if (prod.status === "fulfilled") packs.prod = prod.value;
  for (const result of [dev, prod]) if (result.status === "rejected") throw result.reason;
}, 2 * STARTUP_TIMEOUT_MS);

afterAll(() => {
  stopPack(packs.dev);
  stopPack(packs.prod);
});

function pack(stack: "dev" | "prod"): RunningPack {
  const running = packs[stack];
  if (!running) throw new Error(`the ${stack} pack did not start`);
  return running;
}

describe("the policy pack run by the CLI", () => {
  it("loads as `neonhub-db` with every policy", async () => {
    const info = await analyzerInfo(pack("prod"));
    expect(info.getName()).toBe("neonhub-db");
    expect(info.getPoliciesList().map((policy) => policy.getName())).toHaveLength(8);
  });

  it.each([
    ["prod", EnforcementLevel.MANDATORY],
    ["dev", EnforcementLevel.ADVISORY],
  ] as const)("on %s, every policy has enforcement level %i", async (stack, level) => {
    const info = await analyzerInfo(pack(stack));
    const levels = new Set(info.getPoliciesList().map((policy) => policy.getEnforcementlevel()));
    expect([...levels]).toEqual([level]);
  });

  it("finds nothing wrong with a compliant production instance", async () => {
    expect(await analyze(pack("prod"), "prod", compliantInstance)).toEqual([]);
  });

  it.each([
    ["prod", EnforcementLevel.MANDATORY],
    ["dev", EnforcementLevel.ADVISORY],
  ] as const)("on %s, reports a public, unencrypted instance at level %i", async (stack, level) => {
    const exposed = { ...compliantInstance, publiclyAccessible: true, storageEncrypted: false };
    const diagnostics = await analyze(pack(stack), stack, exposed);
    expect(diagnostics.map((diagnostic) => diagnostic.getPolicyname()).sort()).toEqual([
      "rds-not-publicly-accessible",
      "rds-storage-encrypted",
    ]);
    for (const diagnostic of diagnostics) expect(diagnostic.getEnforcementlevel()).toBe(level);
  });
});
