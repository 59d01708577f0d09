// Runs the Pulumi program (or a component) under Pulumi's mock runtime and records every resource: its type,
// name, inputs (with which ones were secret) and resource options. No engine, no cloud, no database.
import { readFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

// Pulumi's wire format for secrets (sdk/nodejs/runtime/rpc.ts): { [SIG_KEY]: SECRET_SIG, value }.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Resource inputs as the mock monitor sees them: untyped, so tests can reach into any property. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Inputs = Record<string, any>;

export interface RecordedResource {
  type: string;
  name: string;
  /** Inputs with secret wrappers removed. */
  inputs: Inputs;
  /** Top-level input names whose value was secret. */
  secretInputs: Set<string>;
  /** Resource options as the program passed them. */
  opts: pulumi.CustomResourceOptions;
}

export interface MockWorld {
  resources: RecordedResource[];
  /** Every password the mocks generated (random passwords, the RDS master password). */
  passwords: string[];
  /** The only resource of a type (and name, when given); fails when there is not exactly one. */
  one(type: string, name?: string): RecordedResource;
  all(type: string): RecordedResource[];
}

export const MASTER_PASSWORD = "RdsMasterPw0123456789abcdefXYZ";
const ACCOUNT = "123456789012";

function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

function unwrap(value: unknown): unknown {
  if (isSecretValue(value)) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

function containsSecret(value: unknown): boolean {
  if (isSecretValue(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecret);
  return false;
}

/** Outputs the real providers would compute, keyed by resource type. */
function computedState(type: string, name: string, inputs: Inputs, world: MockWorld) {
  switch (type) {
    case "random:index/randomPassword:RandomPassword": {
      const password = `Pw${name.replace(/[^A-Za-z0-9]/g, "")}0123456789abcdefghijklmnopqrstuv`.slice(0, 32);
      world.passwords.push(password);
      // The real provider marks `result` secret; keep that under mocks.
      return { result: { [SIG_KEY]: SECRET_SIG, value: password } };
    }
    case "random:index/randomId:RandomId":
      return { hex: "0a1b2c3d", b64Url: "ChssPQ" };
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: `sha256:mock-${inputs.name}`, repoDigest: `${inputs.name}@sha256:mock` };
    case "aws:kms/key:Key":
      return { arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/mock-${name}`, keyId: `mock-${name}` };
    case "aws:rds/instance:Instance":
      return {
        address: `${inputs.identifier}.abcdefghijkl.us-east-1.rds.amazonaws.com`,
        port: inputs.port ?? 5432,
        masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:rds!db-mock` }],
      };
    case "aws:rds/cluster:Cluster":
      return {
        endpoint: `${inputs.clusterIdentifier}.cluster-abcdefghijkl.us-east-1.rds.amazonaws.com`,
        readerEndpoint: `${inputs.clusterIdentifier}.cluster-ro-abcdefghijkl.us-east-1.rds.amazonaws.com`,
        port: inputs.port ?? 5432,
        masterUserSecrets: [
          { secretArn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:rds!cluster-mock` },
        ],
      };
    case "aws:sns/topic:Topic":
      return { arn: `arn:aws:sns:us-east-1:${ACCOUNT}:${inputs.name ?? name}` };
    case "aws:secretsmanager/secret:Secret":
      return { arn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${inputs.name}-AbCdEf` };
    default:
      return {};
  }
}

function callResult(token: string): Record<string, unknown> {
  switch (token) {
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return {
        names: ["us-east-1a", "us-east-1b", "us-east-1c"],
        zoneIds: ["use1-az1", "use1-az2", "use1-az4"],
      };
    case "aws:secretsmanager/getSecretVersion:getSecretVersion":
      return { secretString: JSON.stringify({ username: "neonhub_admin", password: MASTER_PASSWORD }) };
    default:
      throw new Error(`unexpected invoke ${token}`);
  }
}

export interface MockOptions {
  stack: string;
  /** `neonhub-db:*` (and other) config values, as the CLI passes them: strings. */
  config: Record<string, string>;
  /** Full keys set with --secret. */
  secretKeys?: string[];
}

/** Installs the mocks and the stack config. Call before importing anything that creates resources. */
export async function installMocks(options: MockOptions): Promise<MockWorld> {
  const optionsByName = new Map<string, pulumi.CustomResourceOptions>();
  const world: MockWorld = {
    resources: [],
    passwords: [MASTER_PASSWORD],
    all: (type) => world.resources.filter((r) => r.type === type),
    one: (type, name) => {
      const found = world.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
      if (found.length !== 1) {
        throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`);
      }
      return found[0] as RecordedResource;
    },
  };
  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const inputs = args.inputs as Record<string, unknown>;
        const secretInputs = new Set(Object.keys(inputs).filter((key) => containsSecret(inputs[key])));
        const plain = unwrap(inputs) as Inputs;
        world.resources.push({
          type: args.type,
          name: args.name,
          inputs: plain,
          secretInputs,
          opts: optionsByName.get(`${args.type}::${args.name}`) ?? {},
        });
        // AWS auto-names resources without a `name`; the mock uses the logical name.
        const autoName = args.type.startsWith("aws:") && plain.name === undefined ? { name: args.name } : {};
        const state = { ...inputs, ...autoName, ...computedState(args.type, args.name, plain, world) };
        return { id: args.custom ? `${args.name}-id` : undefined, state };
      },
      call: (args) => callResult(args.token),
    },
    "neonhub-db",
    options.stack,
    false,
  );
  recordOptions = (type, name, opts) =>
    optionsByName.set(`${type}::${name}`, opts as pulumi.CustomResourceOptions);
  return world;
}

let recordOptions: ((type: string, name: string, opts: pulumi.CustomResourceOptions) => void) | undefined;

/**
 * Runs `load` (which imports the program) inside a root stack, as the CLI does, so a stack transformation
 * can record each resource's options. Returns what `load` returned and waits for all resources.
 */
export async function runProgram<T>(load: () => Promise<T>): Promise<T> {
  let loaded: T | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      recordOptions?.(args.type, args.name, args.opts);
      return undefined;
    });
    loaded = await load();
    return undefined;
  });
  await settle();
  return loaded as T;
}

/** The value of an Output, once the mock runtime resolved it. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Every exported Output of a program module, by export name. */
export function exportedOutputs(program: Record<string, unknown>): Map<string, pulumi.Output<unknown>> {
  return new Map(
    Object.entries(program).filter((entry): entry is [string, pulumi.Output<unknown>] =>
      pulumi.Output.isInstance(entry[1]),
    ),
  );
}

// Internal to @pulumi/pulumi (runtime/settings): resolves when no resource registration is in flight.
const runtimeRpcs = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };

/** Waits until the mock monitor has seen every resource registration (they are asynchronous). */
export async function settle(): Promise<void> {
  if (runtimeRpcs.waitForRPCs) await runtimeRpcs.waitForRPCs();
  else await new Promise((resolve) => setTimeout(resolve, 200));
}

const PROJECT_ROOT = path.resolve(__dirname, "../..");

function configString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The config the CLI would pass for a stack: Pulumi.yaml's defaults, then Pulumi.<stack>.yaml, then `extra`
 * (for values a stack file cannot hold, such as secrets). Values are strings, as the CLI passes them.
 */
export function stackConfig(stack: string, extra: Record<string, string> = {}): Record<string, string> {
  const project = parse(readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config?: Record<string, { default?: unknown }>;
  };
  const config: Record<string, string> = {};
  for (const [key, declaration] of Object.entries(project.config ?? {})) {
    if (declaration.default !== undefined)
      config[`${project.name}:${key}`] = configString(declaration.default);
  }
  const stackFile = path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
  const stackSettings = parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null;
  for (const [key, value] of Object.entries(stackSettings?.config ?? {})) {
    config[key] = configString(value);
  }
  return { ...config, ...extra };
}

/**
 * A stack (dev unless named) with `config` over its own, and the program imported on it without a root stack
 * (the Stack resource would rethrow the error as an unhandled rejection): the mock world, and what the import
 * threw.
 */
export async function programOnInvalidConfig(
  config: Record<string, string>,
  stack = "dev",
): Promise<{ world: MockWorld; failure: unknown }> {
  const world = await installMocks({ stack, config: stackConfig(stack, config) });
  const failure = await import("../../index").then(
    () => undefined,
    (error: unknown) => error,
  );
  await settle();
  return { world, failure };
}
