// "No database password in plain config": the policy compares the master password with the stack's plain
// config values, read from a real Pulumi.<stack>.yaml in a scratch project directory.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plainConfigFromProject } from "../../policy/plain-config";
import { noPlaintextPassword } from "../../policy/rules/no-plaintext-password";
import { withChanges } from "./fixtures";
import { runPolicy } from "./harness";
import { scratchDir } from "../support/scratch";

const PLAIN_PASSWORD = "correct-horse-battery-staple";
const SECRET_PASSWORD = "a-password-that-is-stored-encrypted";
const NESTED_PASSWORD = "a-password-in-a-map";
const DOTTED_CHILD_PASSWORD = "a-password-under-a-dotted-key";
const QUOTED_CHILD_PASSWORD = "a-password-under-a-quoted-key";
const DOTTED_TOP_LEVEL_PASSWORD = "a-password-under-a-dotted-top-level-key";
const SPACED_TOP_LEVEL_PASSWORD = "a-password-under-a-key-with-a-space";

let projectDir: string;

beforeAll(() => {
  projectDir = scratchDir("neonhub-policy-project-");
  fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), "name: neonhub-db\nruntime: nodejs\n");
  fs.writeFileSync(
    path.join(projectDir, "Pulumi.prod.yaml"),
    [
      "config:",
      "  aws:region: eu-west-1",
      `  neonhub-db:masterPassword: ${PLAIN_PASSWORD}`,
      "  neonhub-db:appPassword:",
      "    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
      "  neonhub-db:replica:",
      "    credentials:",
      "      - user: reader",
      "        password: reader-password-in-a-list",
      // Set with `--path`: a map under a top-level key, whose own keys a bare path step would misread.
      "  neonhub-db:db:",
      `    password: ${NESTED_PASSWORD}`,
      `    "pass.word": ${DOTTED_CHILD_PASSWORD}`,
      `    'it''s "quoted"': ${QUOTED_CHILD_PASSWORD}`,
      // Set without `--path`: one top-level key whose name holds a dot.
      `  neonhub-db:legacy.password: ${DOTTED_TOP_LEVEL_PASSWORD}`,
      `  neonhub-db:db password: ${SPACED_TOP_LEVEL_PASSWORD}`,
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(projectDir, "Pulumi.staging.yaml"),
    `config:\n  neonhub-db:stagingPassword: ${PLAIN_PASSWORD}\n`,
  );
  // A project that keeps its stack files elsewhere (Pulumi.yaml `stackConfigDir`).
  fs.mkdirSync(path.join(projectDir, "moved", "stacks"), { recursive: true });
  fs.writeFileSync(path.join(projectDir, "moved", "Pulumi.yaml"), "name: moved\nstackConfigDir: stacks\n");
  fs.writeFileSync(
    path.join(projectDir, "moved", "stacks", "Pulumi.prod.yaml"),
    `config:\n  moved:dbPassword: ${PLAIN_PASSWORD}\n`,
  );
});

afterAll(() => fs.rmSync(projectDir, { recursive: true, force: true }));

const policy = () => noPlaintextPassword(plainConfigFromProject(projectDir), projectDir);

describe("plainConfigFromProject", () => {
  it("lists plain values with their keys and leaves secure values out", () => {
    const values = plainConfigFromProject(projectDir)("prod");
    expect(values).toContainEqual({ key: "aws:region", nested: false, value: "eu-west-1" });
    expect(values).toContainEqual({
      key: "neonhub-db:replica.credentials[0].password",
      nested: true,
      value: "reader-password-in-a-list",
    });
    expect(values.map((value) => value.key)).not.toContain("neonhub-db:appPassword");
  });

  it("names a value inside a map or list by the path `pulumi config set --path` reads, and a top-level key as written", () => {
    const values = plainConfigFromProject(projectDir)("prod");
    expect(values).toContainEqual({ key: "neonhub-db:masterPassword", nested: false, value: PLAIN_PASSWORD });
    expect(values).toContainEqual({ key: "neonhub-db:db.password", nested: true, value: NESTED_PASSWORD });
    // Pulumi's property paths split a bare step at `.` and `[`: such a key is quoted in brackets, `"` escaped.
    expect(values).toContainEqual({
      key: 'neonhub-db:db["pass.word"]',
      nested: true,
      value: DOTTED_CHILD_PASSWORD,
    });
    expect(values).toContainEqual({
      key: `neonhub-db:db.it's "quoted"`,
      nested: true,
      value: QUOTED_CHILD_PASSWORD,
    });
    // A top-level key with a dot in its name is not a path: `--path` would set another value beside it.
    expect(values).toContainEqual({
      key: "neonhub-db:legacy.password",
      nested: false,
      value: DOTTED_TOP_LEVEL_PASSWORD,
    });
  });

  it("finds stack files moved by stackConfigDir, and has nothing for a stack without a file", () => {
    const moved = plainConfigFromProject(path.join(projectDir, "moved"));
    expect(moved("prod")).toEqual([{ key: "moved:dbPassword", nested: false, value: PLAIN_PASSWORD }]);
    expect(moved("dev")).toEqual([]);
  });
});

describe("rds-no-plaintext-password", () => {
  it("passes an instance whose password RDS manages (no password input)", async () => {
    const run = await runPolicy(policy(), withChanges("instance", { manageMasterUserPassword: true }));
    expect(run.violations).toEqual([]);
  });

  it("passes a password that is not in plain config (a --secret value or a generated one)", async () => {
    const instance = withChanges("instance", {
      manageMasterUserPassword: undefined,
      password: SECRET_PASSWORD,
    });
    expect((await runPolicy(policy(), instance)).violations).toEqual([]);
  });

  it("reports an instance password taken from plain config, naming the key but never the value", async () => {
    const instance = withChanges("instance", {
      manageMasterUserPassword: undefined,
      password: PLAIN_PASSWORD,
    });
    const { violations } = await runPolicy(policy(), instance);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('password is the plain config value "neonhub-db:masterPassword"');
    expect(violations[0]).toContain("Pulumi.prod.yaml");
    // The stack of the resource's URN, named: the stack selected where the command runs may be another.
    expect(violations[0]).toContain(
      "`pulumi config set --stack prod --secret neonhub-db:masterPassword ...`",
    );
    expect(violations[0]).not.toContain(PLAIN_PASSWORD);
  });

  it("reports a cluster's write-only master password from plain config too", async () => {
    const cluster = withChanges("cluster", {
      manageMasterUserPassword: undefined,
      masterPasswordWo: "reader-password-in-a-list",
    });
    const { violations } = await runPolicy(policy(), cluster);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/^masterPasswordWo is the plain config value "neonhub-db:replica/);
  });

  const leakedBy = async (password: string) => {
    const instance = withChanges("instance", { manageMasterUserPassword: undefined, password });
    const { violations } = await runPolicy(policy(), instance);
    expect(violations).toHaveLength(1);
    return violations[0]!;
  };

  it("prints `--path '<key>'` for a password inside a map or list, which without it would be a new top-level key", async () => {
    expect(await leakedBy(NESTED_PASSWORD)).toContain(
      "`pulumi config set --stack prod --secret --path 'neonhub-db:db.password' ...`",
    );
    expect(await leakedBy("reader-password-in-a-list")).toContain(
      "`pulumi config set --stack prod --secret --path 'neonhub-db:replica.credentials[0].password' ...`",
    );
    expect(await leakedBy(DOTTED_CHILD_PASSWORD)).toContain(
      `\`pulumi config set --stack prod --secret --path 'neonhub-db:db["pass.word"]' ...\``,
    );
    // The key is one shell word: its `'` closes the quotes, writes the quote escaped and opens them again.
    expect(await leakedBy(QUOTED_CHILD_PASSWORD)).toContain(
      `\`pulumi config set --stack prod --secret --path 'neonhub-db:db.it'\\''s "quoted"' ...\``,
    );
  });

  it("prints a top-level key without --path, a dot in its name included", async () => {
    const message = await leakedBy(DOTTED_TOP_LEVEL_PASSWORD);
    expect(message).toContain("`pulumi config set --stack prod --secret neonhub-db:legacy.password ...`");
    expect(message).not.toContain("--path");
    expect(message).not.toContain(DOTTED_TOP_LEVEL_PASSWORD);
  });

  it("prints a top-level key a shell would split as one quoted word", async () => {
    expect(await leakedBy(SPACED_TOP_LEVEL_PASSWORD)).toContain(
      "`pulumi config set --stack prod --secret 'neonhub-db:db password' ...`",
    );
  });

  it("judges each stack by its own stack file", async () => {
    const instance = withChanges("instance", {
      manageMasterUserPassword: undefined,
      password: PLAIN_PASSWORD,
    });
    const run = await runPolicy(policy(), { ...instance, stack: "dev" });
    expect(run.violations).toEqual([]);
    // Another stack whose file holds it plain: its own file and its own `--stack` are named.
    const staging = await runPolicy(policy(), { ...instance, stack: "staging" });
    expect(staging.violations).toHaveLength(1);
    expect(staging.violations[0]).toContain("Pulumi.staging.yaml");
    expect(staging.violations[0]).toContain(
      "`pulumi config set --stack staging --secret neonhub-db:stagingPassword ...`",
    );
  });
});
