// Runs a policy's validateResource the way @pulumi/policy's analyzer does (server.js `analyze`): one args
// object per validation, `isType` matching the class's Pulumi type token, `notApplicable` throwing, and a
// reportViolation spy that collects the messages.
import type {
  Policy,
  PolicyResourceOptions,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import { vi } from "vitest";

export const PROJECT = "neonhub-db";

export interface PolicyRun {
  violations: string[];
  /** Reasons given by validations that declared themselves not applicable to the resource. */
  notApplicable: string[];
}

export interface ResourceUnderTest {
  type: string;
  props: Record<string, unknown>;
  /** Defaults to "prod". */
  stack?: string;
  /** Defaults to "db". */
  name?: string;
}

class NotApplicable extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const noOptions: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

/** The type token an SDK-generated resource class carries, as the analyzer reads it. */
function pulumiTypeOf(resourceClass: unknown): unknown {
  return (resourceClass as { __pulumiType?: unknown }).__pulumiType;
}

export function validationArgs(resource: ResourceUnderTest): ResourceValidationArgs {
  const { type, props, stack = "prod", name = "db" } = resource;
  const isType = (resourceClass: unknown) => pulumiTypeOf(resourceClass) === type;
  return {
    type,
    props,
    urn: `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`,
    name,
    opts: noOptions,
    stackTags: new Map(),
    isType,
    asType: ((resourceClass: unknown) => (isType(resourceClass) ? props : undefined)) as never,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason ?? "not applicable");
    },
  };
}

function validationsOf(policy: Policy): ResourceValidation[] {
  const validate = (policy as ResourceValidationPolicy).validateResource;
  if (validate === undefined) throw new Error(`${policy.name} has no validateResource`);
  return Array.isArray(validate) ? validate : [validate];
}

export async function runPolicy(policy: Policy, resource: ResourceUnderTest): Promise<PolicyRun> {
  const reportViolation = vi.fn<(message: string, urn?: string) => void>();
  const notApplicable: string[] = [];
  for (const validation of validationsOf(policy)) {
    try {
      await validation(validationArgs(resource), reportViolation);
    } catch (error) {
      if (!(error instanceof NotApplicable)) throw error;
      notApplicable.push(error.reason);
    }
  }
  return { violations: reportViolation.mock.calls.map(([message]) => message), notApplicable };
}
