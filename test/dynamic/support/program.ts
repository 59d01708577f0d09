// Runs the whole Pulumi program (index.ts) for a stack under the mock runtime, recording for each
// registration what the engine uses to order the graph: its parent and the URNs it depends on.
import * as pulumi from "@pulumi/pulumi";
import { installMocks, runProgram, stackConfig, type MockOptions, type MockWorld } from "../../infra/harness";
import { guardUnhandledRejections } from "./release-inputs";

export interface Registration {
  type: string;
  name: string;
  urn: string;
  parent: string;
  dependencies: string[];
}

export interface ProgramRun {
  world: MockWorld;
  program: Record<string, unknown>;
  registrations: Registration[];
  /** The registration of the only resource of `type` (and `name`). */
  one(type: string, name?: string): Registration;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}
type Callback = (error: unknown, response?: { getUrn(): string }) => void;
interface Monitor {
  registerResource(request: RegisterRequest, callback: Callback): unknown;
}

export async function runStack(
  stack: string,
  extra: Record<string, string> = {},
  secretKeys: string[] = [],
): Promise<ProgramRun> {
  const options: MockOptions = { stack, config: stackConfig(stack, extra), secretKeys };
  const world = await installMocks(options);
  const registrations: Registration[] = [];
  // Internal to @pulumi/pulumi: the monitor the mocks installed. The mock API hides dependencies; the
  // registration requests carry them.
  const monitor = (pulumi.runtime as unknown as { getMonitor(): Monitor }).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) =>
    register(request, (error, response) => {
      if (response) {
        registrations.push({
          type: request.getType(),
          name: request.getName(),
          urn: response.getUrn(),
          parent: request.getParent(),
          dependencies: request.getDependenciesList(),
        });
      }
      callback(error, response);
    });
  const program = await guardUnhandledRejections(() => runProgram(() => import("../../../index")));
  return {
    world,
    program,
    registrations,
    one(type, name) {
      const found = registrations.filter((r) => r.type === type && (name === undefined || r.name === name));
      if (found.length !== 1) throw new Error(`expected one ${type} ${name ?? ""}, found ${found.length}`);
      return found[0] as Registration;
    },
  };
}
