// Assertions every stack must pass: the access layer (roles, grants, extensions, default privileges, the
// options that keep `pulumi up` idempotent) and the secrecy of the outputs.
import * as pulumi from "@pulumi/pulumi";
import { expect } from "vitest";
import { MockWorld, RecordedResource, exportedOutputs, promiseOf } from "./harness";

export const ROLE_NAMES = {
  owner: "neonhub_owner",
  migrator: "neonhub_migrator",
  app: "neonhub_app",
  readonly: "neonhub_readonly",
};

const T = {
  provider: "pulumi:providers:postgresql",
  role: "postgresql:index/role:Role",
  database: "postgresql:index/database:Database",
  extension: "postgresql:index/extension:Extension",
  grant: "postgresql:index/grant:Grant",
  grantRole: "postgresql:index/grantRole:GrantRole",
  defaultPrivileges: "postgresql:index/defaultPrivileges:DefaultPrivileges",
};

export const POSTGRES_TYPES = T;

function role(world: MockWorld, name: string): RecordedResource {
  const found = world.all(T.role).filter((r) => r.inputs.name === name);
  expect(found, `role ${name}`).toHaveLength(1);
  return found[0] as RecordedResource;
}

export function expectRoles(world: MockWorld): void {
  expect(
    world
      .all(T.role)
      .map((r) => r.inputs.name)
      .sort(),
  ).toEqual(Object.values(ROLE_NAMES).sort());
  const owner = role(world, ROLE_NAMES.owner);
  expect(owner.inputs.login).toBe(false);
  expect(owner.inputs.password).toBeUndefined();
  // pg_read_all_stats and nothing more: health and lock reports read other sessions' details as the owner.
  expect(owner.inputs.roles).toEqual(["pg_read_all_stats"]);

  const migrator = role(world, ROLE_NAMES.migrator);
  expect(migrator.inputs).toMatchObject({
    login: true,
    roles: [ROLE_NAMES.owner],
    assumeRole: ROLE_NAMES.owner,
    inherit: true,
  });
  for (const login of [ROLE_NAMES.migrator, ROLE_NAMES.app, ROLE_NAMES.readonly]) {
    const resource = role(world, login);
    expect(resource.inputs.login, login).toBe(true);
    expect(resource.inputs.password, login).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(resource.secretInputs.has("password"), `${login} password is secret`).toBe(true);
    expect(resource.inputs.superuser ?? false).toBe(false);
    expect(resource.inputs.createRole ?? false).toBe(false);
  }
  for (const login of [ROLE_NAMES.app, ROLE_NAMES.readonly]) {
    expect(role(world, login).inputs.roles ?? [], `${login} is member of nothing`).toEqual([]);
  }
}

export function expectDatabaseAndExtensions(world: MockWorld, keepData: boolean): void {
  const database = world.one(T.database);
  expect(database.inputs).toMatchObject({ name: "neonhub", owner: ROLE_NAMES.owner });
  // An explicit "DEFAULT" collation would be read back as the real one and force a replacement.
  expect(database.inputs.lcCollate).toBeUndefined();
  expect(database.inputs.lcCtype).toBeUndefined();
  expect(database.opts.retainOnDelete ?? false).toBe(keepData);

  const extensions = world.all(T.extension);
  expect(extensions.map((e) => e.inputs.name).sort()).toEqual(["uuid-ossp", "vector"]);
  for (const extension of extensions) {
    expect(extension.inputs).toMatchObject({ database: "neonhub", schema: "public" });
    expect(extension.inputs.dropCascade ?? false).toBe(false);
  }
}

function grantsOn(world: MockWorld, objectType: string): RecordedResource[] {
  return world.all(T.grant).filter((g) => g.inputs.objectType === objectType);
}

export function expectGrants(world: MockWorld): void {
  const grants = world.all(T.grant);
  // Only database and schema grants: table grants would drift as migrations add tables.
  expect(new Set(grants.map((g) => g.inputs.objectType))).toEqual(new Set(["database", "schema"]));
  // One authoritative grant per (role, database, schema, object type).
  const tuples = grants.map((g) =>
    [g.inputs.role, g.inputs.database, g.inputs.schema, g.inputs.objectType].join("|"),
  );
  expect(new Set(tuples).size).toBe(tuples.length);

  const schemaPrivileges = Object.fromEntries(
    grantsOn(world, "schema").map((g) => [g.inputs.role, g.inputs.privileges]),
  );
  expect(schemaPrivileges).toEqual({
    public: [],
    [ROLE_NAMES.owner]: ["CREATE", "USAGE"],
    [ROLE_NAMES.app]: ["USAGE"],
    [ROLE_NAMES.readonly]: ["USAGE"],
  });
  for (const grant of grantsOn(world, "schema")) {
    expect(grant.inputs).toMatchObject({ database: "neonhub", schema: "public" });
    if (grant.inputs.role !== ROLE_NAMES.owner) expect(grant.inputs.privileges).not.toContain("CREATE");
  }
  const connect = Object.fromEntries(
    grantsOn(world, "database").map((g) => [g.inputs.role, g.inputs.privileges]),
  );
  expect(connect).toEqual({
    [ROLE_NAMES.migrator]: ["CONNECT"],
    [ROLE_NAMES.app]: ["CONNECT"],
    [ROLE_NAMES.readonly]: ["CONNECT"],
  });
}

export function expectDefaultPrivileges(world: MockWorld): void {
  const defaults = world.all(T.defaultPrivileges);
  const byTarget = Object.fromEntries(
    defaults.map((d) => [`${d.inputs.role} ${d.inputs.objectType}`, d.inputs.privileges]),
  );
  expect(byTarget).toEqual({
    [`${ROLE_NAMES.app} table`]: ["DELETE", "INSERT", "SELECT", "UPDATE"],
    [`${ROLE_NAMES.app} sequence`]: ["SELECT", "USAGE"],
    [`${ROLE_NAMES.readonly} table`]: ["SELECT"],
    [`${ROLE_NAMES.readonly} sequence`]: ["SELECT"],
  });
  for (const d of defaults) {
    // FOR ROLE owner: the role migrations run as.
    expect(d.inputs).toMatchObject({ owner: ROLE_NAMES.owner, database: "neonhub", schema: "public" });
  }
}

export function expectIdempotentGrantOptions(world: MockWorld): void {
  const grantLike = [...world.all(T.grant), ...world.all(T.defaultPrivileges), ...world.all(T.grantRole)];
  expect(grantLike.length).toBeGreaterThan(0);
  for (const resource of grantLike) {
    expect(resource.opts.deleteBeforeReplace, `${resource.name} deleteBeforeReplace`).toBe(true);
  }
  const postgresResources = world.resources.filter((r) => r.type.startsWith("postgresql:"));
  for (const resource of postgresResources) {
    expect(resource.opts.provider, `${resource.name} uses the admin provider`).toBeDefined();
  }
}

export function expectAdminProvider(
  world: MockWorld,
  expected: { host: string; port: number; username: string; sslmode: string; superuser: boolean },
): RecordedResource {
  const provider = world.one(T.provider);
  // Provider inputs travel as strings (JSON for numbers and booleans).
  const asSent = Object.fromEntries(Object.entries(expected).map(([key, value]) => [key, String(value)]));
  expect(provider.inputs).toMatchObject(asSent);
  expect(provider.secretInputs.has("password")).toBe(true);
  return provider;
}

/** Connection-string outputs are secret and well formed; nothing else carries a password. */
export async function expectSecretOutputs(
  program: Record<string, unknown>,
  world: MockWorld,
  expected: { host: string; readerHost?: string; port: number; sslmode?: string },
  extraSecrets: string[] = [],
): Promise<void> {
  const outputs = exportedOutputs(program);
  const users = {
    databaseUrl: ROLE_NAMES.app,
    directUrl: ROLE_NAMES.migrator,
    readonlyUrl: ROLE_NAMES.readonly,
  };
  for (const [key, user] of Object.entries(users)) {
    const output = outputs.get(key);
    expect(output, key).toBeDefined();
    expect(await pulumi.isSecret(output as pulumi.Output<unknown>), `${key} is secret`).toBe(true);
    const url = new URL(String(await promiseOf(output as pulumi.Output<unknown>)));
    expect(url.protocol).toBe("postgresql:");
    expect(url.username).toBe(user);
    expect(world.passwords).toContain(url.password);
    expect(url.hostname).toBe(key === "readonlyUrl" ? (expected.readerHost ?? expected.host) : expected.host);
    expect(Number(url.port)).toBe(expected.port);
    expect(url.pathname).toBe("/neonhub");
    expect(url.searchParams.get("sslmode") ?? undefined).toBe(expected.sslmode);
  }

  const secrets = [...world.passwords, ...extraSecrets];
  for (const [key, output] of outputs) {
    if (await pulumi.isSecret(output)) continue;
    const text = JSON.stringify(await promiseOf(output)) ?? "";
    for (const secret of secrets) expect(text, `non-secret output ${key}`).not.toContain(secret);
  }
  expect(await promiseOf(outputs.get("roles") as pulumi.Output<unknown>)).toEqual(ROLE_NAMES);
  expect(await promiseOf(outputs.get("database") as pulumi.Output<unknown>)).toBe("neonhub");
  expect(await promiseOf(outputs.get("host") as pulumi.Output<unknown>)).toBe(expected.host);
  expect(await promiseOf(outputs.get("port") as pulumi.Output<unknown>)).toBe(expected.port);
}

/** No resource receives a password through an input that is not marked secret (state stays encrypted). */
export function expectNoPlainTextPasswordInputs(world: MockWorld, extraSecrets: string[] = []): void {
  const secrets = [...world.passwords, ...extraSecrets];
  expect(secrets.length).toBeGreaterThan(1);
  for (const resource of world.resources) {
    for (const [key, value] of Object.entries(resource.inputs)) {
      if (resource.secretInputs.has(key)) continue;
      const text = JSON.stringify(value) ?? "";
      for (const secret of secrets)
        expect(text, `${resource.type} ${resource.name}.${key}`).not.toContain(secret);
    }
  }
}

export async function expectAccessLayer(world: MockWorld, keepData: boolean): Promise<void> {
  expectRoles(world);
  expectDatabaseAndExtensions(world, keepData);
  expectGrants(world);
  expectDefaultPrivileges(world);
  expectIdempotentGrantOptions(world);
}
