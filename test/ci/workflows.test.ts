// The CI workflows' promises, checked on the YAML itself so that a careless edit fails the suite: what
// triggers them, what each job may do, which stack each Pulumi step touches, and how runs queue.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  allJobs,
  environmentOf,
  job,
  needsOf,
  pulumiStep,
  pulumiSteps,
  readWorkflow,
  REPO_ROOT,
  WORKFLOWS_DIR,
  workflowFiles,
  type Concurrency,
  type Job,
} from "./workflow-file";
import { PREVIEW_WITHOUT_DATABASE } from "../../infra/dynamic/unreached-database";

const pullRequest = readWorkflow("pull-request.yml");
const deploy = readWorkflow("deploy.yml");

const rootPackage = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};

function concurrencyOf(owner: { concurrency?: string | Concurrency }): Concurrency {
  const { concurrency } = owner;
  if (concurrency === undefined) throw new Error("no concurrency group");
  return typeof concurrency === "string" ? { group: concurrency } : concurrency;
}

/** The stack's name, optionally qualified by the Pulumi organization that owns it (`acme/prod`). */
function stackName(stack: string): RegExp {
  return new RegExp(`^([\\w.-]+/)?${stack}$`);
}

function usesAws(job: Job): boolean {
  return job.steps.some((step) => step.uses?.startsWith("aws-actions/configure-aws-credentials@"));
}

function expectRunsTheSuiteLikeTheReadme(test: Job): void {
  const setupNode = test.steps.find((step) => step.uses?.startsWith("actions/setup-node@"));
  expect(setupNode?.with?.["node-version"]).toBe(20);
  const commands = test.steps.map((step) => step.run?.trim());
  const suite = commands.indexOf("npm test");
  expect(suite, "a step runs exactly `npm test`").toBeGreaterThan(-1);
  // pgvector is installed with sudo before the suite, which then needs no root.
  const install = commands.findIndex(
    (run) => run?.includes("sudo apt-get install") && run.includes("pgvector"),
  );
  expect(install).toBeGreaterThan(-1);
  expect(install).toBeLessThan(suite);
  expect(test.permissions).toEqual({ contents: "read" });
}

describe("pull-request.yml", () => {
  it("runs on pull requests to main, and never as pull_request_target (fork code with secrets)", () => {
    expect(pullRequest.on).toEqual({ pull_request: { branches: ["main"] } });
  });

  it("grants nothing at the top; each job gets only what it uses", () => {
    expect(pullRequest.permissions).toEqual({});
    expect(job(pullRequest, "test").permissions).toEqual({ contents: "read" });
    expect(job(pullRequest, "preview-dev").permissions).toEqual({
      contents: "read",
      "pull-requests": "write",
    });
    expect(job(pullRequest, "preview-prod").permissions).toEqual({
      contents: "read",
      "id-token": "write",
      "pull-requests": "write",
    });
  });

  it("runs the test suite as the README does", () => {
    expectRunsTheSuiteLikeTheReadme(job(pullRequest, "test"));
  });

  it("lets a new push cancel the previews of the previous one", () => {
    const concurrency = concurrencyOf(pullRequest);
    expect(concurrency.group).toContain("${{ github.event.pull_request.number }}");
    expect(concurrency["cancel-in-progress"]).toBe(true);
  });

  it.each(["dev", "prod"])("previews %s after the tests, commenting on the pull request", (stack) => {
    const preview = job(pullRequest, `preview-${stack}`);
    expect(needsOf(preview)).toEqual(["test"]);
    expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    const step = pulumiStep(preview);
    expect(step.with.command).toBe("preview");
    expect(step.with["stack-name"]).toMatch(stackName(stack));
    expect(step.with["comment-on-pr"]).toBe(true);
    expect(step.with["edit-pr-comment"]).toBe(true);
    // A refresh would read the live database, which the preview must not need.
    expect(step.with.refresh).toBeUndefined();
  });

  it("only previews: nothing in it updates, refreshes or destroys a stack", () => {
    const commands = Object.values(pullRequest.jobs).flatMap((j) =>
      pulumiSteps(j).map((s) => s.with.command),
    );
    expect(commands).toEqual(["preview", "preview"]);
  });

  it("runs the prod preview, the gate before a merge, on a runner the repository names", () => {
    // The migrations' check fails a production preview that cannot reach the database (docs/ci.md).
    expect(job(pullRequest, "preview-prod")["runs-on"]).toBe(
      "${{ vars.NEONHUB_PROD_PREVIEW_RUNNER || 'ubuntu-24.04' }}",
    );
  });

  it("never lets a preview skip the database checks", () => {
    for (const file of workflowFiles()) {
      const text = fs.readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
      expect(text, file).not.toContain(PREVIEW_WITHOUT_DATABASE);
    }
  });
});

describe("deploy.yml", () => {
  it("runs on pushes to main only", () => {
    expect(deploy.on).toEqual({ push: { branches: ["main"] } });
  });

  it("grants nothing at the top; each job gets only what it uses", () => {
    expect(deploy.permissions).toEqual({});
    expect(job(deploy, "test").permissions).toEqual({ contents: "read" });
    expect(job(deploy, "deploy-dev").permissions).toEqual({ contents: "read" });
    expect(job(deploy, "deploy-prod").permissions).toEqual({ contents: "read", "id-token": "write" });
  });

  it("runs the test suite as the README does before deploying", () => {
    expectRunsTheSuiteLikeTheReadme(job(deploy, "test"));
    expect(needsOf(job(deploy, "deploy-dev"))).toEqual(["test"]);
  });

  it("updates dev with `pulumi up`", () => {
    const step = pulumiStep(job(deploy, "deploy-dev"));
    expect(step.with.command).toBe("up");
    expect(step.with["stack-name"]).toMatch(stackName("dev"));
  });

  it("updates prod in its own job, after dev, behind the protected production environment", () => {
    const prod = job(deploy, "deploy-prod");
    expect(needsOf(prod)).toEqual(["deploy-dev"]);
    expect(environmentOf(prod)).toBe("production");
    const step = pulumiStep(prod);
    expect(step.with.command).toBe("up");
    expect(step.with["stack-name"]).toMatch(stackName("prod"));
    expect(environmentOf(job(deploy, "deploy-dev"))).not.toBe("production");
  });

  it.each(["dev", "prod"])(
    "never runs two updates of %s at once, and never cancels a running one",
    (stack) => {
      const concurrency = concurrencyOf(job(deploy, `deploy-${stack}`));
      // A fixed name, the same for every run: a group named after the run or commit would let updates overlap.
      expect(concurrency.group).toBe(`pulumi-neonhub-db-${stack}`);
      expect(concurrency["cancel-in-progress"]).toBe(false);
    },
  );
});

describe("every workflow", () => {
  const jobs = allJobs();
  const label = ({ file, id }: { file: string; id: string }) => `${file} ${id}`;

  it("has the two workflows and their jobs", () => {
    expect(jobs.map(label).sort()).toEqual([
      "deploy.yml deploy-dev",
      "deploy.yml deploy-prod",
      "deploy.yml test",
      "pull-request.yml preview-dev",
      "pull-request.yml preview-prod",
      "pull-request.yml test",
    ]);
  });

  it("declares permissions on every job, never the write-all or read-all shorthands", () => {
    for (const entry of jobs) {
      expect(entry.job.permissions, label(entry)).toBeTypeOf("object");
    }
  });

  it("touches at most one stack per job", () => {
    for (const entry of jobs) {
      const stacks = new Set(pulumiSteps(entry.job).map((step) => step.with["stack-name"]));
      expect(stacks.size, label(entry)).toBeLessThanOrEqual(1);
    }
  });

  it("runs the policy pack with every Pulumi command, from a folder that holds it", () => {
    for (const entry of jobs) {
      for (const step of pulumiSteps(entry.job)) {
        expect(step.with.policyPacks, label(entry)).toBe("policy");
      }
    }
    expect(fs.existsSync(path.join(REPO_ROOT, "policy", "PulumiPolicy.yaml"))).toBe(true);
  });

  it("takes the Pulumi token from repository secrets and uses the CLI of the SDK's release", () => {
    for (const entry of jobs) {
      for (const step of pulumiSteps(entry.job)) {
        expect(step.env?.PULUMI_ACCESS_TOKEN, label(entry)).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
        expect(step.with["pulumi-version"], label(entry)).toBe(rootPackage.dependencies["@pulumi/pulumi"]);
      }
    }
  });

  it("gets AWS credentials only through OIDC, and asks for an identity token only where it does", () => {
    for (const entry of jobs) {
      const permissions = entry.job.permissions as Record<string, string>;
      expect(permissions["id-token"] === "write", label(entry)).toBe(usesAws(entry.job));
      for (const step of entry.job.steps) {
        if (step.uses?.startsWith("aws-actions/configure-aws-credentials@")) {
          expect(step.with?.["role-to-assume"], label(entry)).toMatch(/^\$\{\{ vars\.AWS_\w+_ROLE_ARN \}\}$/);
          expect(step.with, label(entry)).not.toHaveProperty("aws-access-key-id");
          expect(step.with, label(entry)).not.toHaveProperty("aws-secret-access-key");
        }
        expect(Object.keys(step.env ?? {}), label(entry)).not.toContain("AWS_SECRET_ACCESS_KEY");
      }
    }
  });

  it("asks for pull-request write access only where it comments on the pull request", () => {
    for (const entry of jobs) {
      const permissions = entry.job.permissions as Record<string, string>;
      const comments = pulumiSteps(entry.job).some((step) => step.with["comment-on-pr"] === true);
      expect(permissions["pull-requests"] === "write", label(entry)).toBe(comments);
    }
  });

  it("uses actions by a released major version, not a moving branch", () => {
    for (const entry of jobs) {
      for (const step of entry.job.steps) {
        if (step.uses) expect(step.uses, label(entry)).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
      }
    }
  });
});
