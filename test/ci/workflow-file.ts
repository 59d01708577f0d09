// Reads a GitHub Actions workflow into plain typed objects for the workflow tests.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const WORKFLOWS_DIR = path.join(REPO_ROOT, ".github", "workflows");

export type Permissions = Record<string, "read" | "write" | "none"> | "read-all" | "write-all";

export interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

export interface Concurrency {
  group: string;
  "cancel-in-progress"?: boolean;
}

export interface Job {
  name?: string;
  "runs-on": string;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string; url?: string };
  permissions?: Permissions;
  concurrency?: string | Concurrency;
  steps: Step[];
}

export interface Workflow {
  name: string;
  on: Record<string, { branches?: string[] } | null>;
  permissions?: Permissions;
  concurrency?: string | Concurrency;
  jobs: Record<string, Job>;
}

/** A step of pulumi/actions, with the inputs the tests look at. */
export interface PulumiStep extends Step {
  with: { command: string; "stack-name": string } & Record<string, unknown>;
}

export function readWorkflow(file: string): Workflow {
  const document = parse(fs.readFileSync(path.join(WORKFLOWS_DIR, file), "utf8")) as Workflow;
  if (!document?.jobs) throw new Error(`${file} has no jobs`);
  return document;
}

export function workflowFiles(): string[] {
  return fs.readdirSync(WORKFLOWS_DIR).filter((file) => /\.ya?ml$/.test(file));
}

export function job(workflow: Workflow, id: string): Job {
  const found = workflow.jobs[id];
  if (!found) throw new Error(`no job ${id} in workflow ${workflow.name}`);
  return found;
}

export function pulumiSteps(job: Job): PulumiStep[] {
  return job.steps.filter((step): step is PulumiStep => step.uses?.startsWith("pulumi/actions@") ?? false);
}

/** The single pulumi/actions step of a job. */
export function pulumiStep(job: Job): PulumiStep {
  const steps = pulumiSteps(job);
  if (steps.length !== 1) throw new Error(`expected one pulumi/actions step, found ${steps.length}`);
  return steps[0] as PulumiStep;
}

export function needsOf(job: Job): string[] {
  return job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
}

export function environmentOf(job: Job): string | undefined {
  return typeof job.environment === "string" ? job.environment : job.environment?.name;
}

export function allJobs(): { file: string; id: string; job: Job }[] {
  return workflowFiles().flatMap((file) =>
    Object.entries(readWorkflow(file).jobs).map(([id, job]) => ({ file, id, job })),
  );
}
