// Access layer, the same on every stack: the application database, extensions, the four roles with generated
// passwords, and grants/default privileges, all through @pulumi/postgresql as the server's admin.
//
// Idempotency (the provider's known grant pitfalls), and the options that handle them:
// - Grant, DefaultPrivileges and GrantRole ids are fixed by (role, database, schema, object type). Pulumi's
//   default create-then-delete replacement would grant and then run the old resource's REVOKE on the very
//   same privileges (pulumi/pulumi-postgresql#233): every one of them gets `deleteBeforeReplace: true`.
// - Each of them is authoritative for its tuple (it revokes all, then grants its list), so there is exactly
//   one resource per tuple; two would undo each other on every run.
// - No table- or sequence-level Grant: on read, any table without the listed privileges (e.g. one a migration
//   just created) turns the grant into a diff that re-applies on every run. Default privileges FOR ROLE owner
//   cover every table the migrations create instead.
// - Privileges are upper case and sorted, as the provider reads them back.
// - The database leaves encoding/collation unset: the provider reads the server's actual values back, and an
//   explicit "DEFAULT" would differ from them and force a replacement (DROP DATABASE).
// - `retainOnDelete` (keepData) on the database, extensions, roles and grants: destroying the stack forgets
//   them instead of dropping data.
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import { RoleNames } from "./config";
import { connectionString } from "./connection-string";
import { generatedPassword } from "./passwords";
import definition from "./access-definition";
import { ServerConnection } from "./servers/types";

export interface DatabaseAccessArgs {
  /** The server's connection details and admin access. */
  server: ServerConnection;
  /** Name of the application database. */
  database: string;
  /** Names of the owner, migrator, app and read-only roles. */
  roles: RoleNames;
  /** Keep the database, roles and grants when the stack is destroyed (they are forgotten, not dropped). */
  keepData: boolean;
}

// The lists themselves live in access-definition.js, shared with `npm run local` and the tests.
/** Extensions the schema needs; created by the admin because pgvector is not a trusted extension. */
export const EXTENSIONS: readonly string[] = definition.EXTENSIONS;

/** What the app may do with every table and sequence the migrations create. */
export const APP_TABLE_PRIVILEGES: string[] = definition.APP_TABLE_PRIVILEGES;
export const APP_SEQUENCE_PRIVILEGES: string[] = definition.APP_SEQUENCE_PRIVILEGES;
export const READONLY_TABLE_PRIVILEGES: string[] = definition.READONLY_TABLE_PRIVILEGES;
export const READONLY_SEQUENCE_PRIVILEGES: string[] = definition.READONLY_SEQUENCE_PRIVILEGES;
/** Predefined roles the owner is a member of (pg_read_all_stats, for health and lock reports). */
export const OWNER_MEMBER_OF: string[] = definition.OWNER_MEMBER_OF;
/** What each login may do with the database itself. */
export const LOGIN_DATABASE_PRIVILEGES: string[] = definition.LOGIN_DATABASE_PRIVILEGES;
/**
 * Privileges on schema `public`, per grantee (`public` is PUBLIC): only the owner may create objects in it,
 * and only our roles may use it.
 */
export const SCHEMA_PRIVILEGES: { public: string[]; owner: string[]; app: string[]; readonly: string[] } =
  definition.SCHEMA_PRIVILEGES;

const SCHEMA = "public";

export class DatabaseAccess extends pulumi.ComponentResource {
  /** The admin provider, for resources that must act as the server's administrator. */
  public readonly provider: postgresql.Provider;
  public readonly databaseName: pulumi.Output<string>;
  /** The NOLOGIN role that owns the schema; migrations run as it. */
  public readonly ownerRole: pulumi.Output<string>;
  public readonly roleNames: pulumi.Output<RoleNames>;
  /** The app's connection string (DATABASE_URL). Secret. */
  public readonly appUrl: pulumi.Output<string>;
  /** The migrator's direct connection string (DIRECT_URL), for migrations and the schema release. Secret. */
  public readonly migratorUrl: pulumi.Output<string>;
  /** The read-only connection string, on Aurora's reader endpoint when there is one. Secret. */
  public readonly readonlyUrl: pulumi.Output<string>;
  public readonly extensions: pulumi.Output<string[]>;

  /** Options of every child the admin creates in the server. */
  private readonly asAdmin: pulumi.CustomResourceOptions;

  constructor(name: string, args: DatabaseAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:DatabaseAccess", name, args, opts);
    const { server, keepData } = args;

    this.provider = new postgresql.Provider(
      `${name}-admin`,
      {
        host: server.admin.host,
        port: server.admin.port,
        username: server.admin.user,
        password: server.admin.password,
        database: server.admin.database,
        sslmode: server.admin.sslmode,
        // Without superuser the provider grants itself the roles it acts for (managed services).
        superuser: server.admin.superuser,
        connectTimeout: 30,
      },
      { parent: this },
    );
    const roles = this.createRoles(name, args.roles, keepData);

    // A managed service's admin is no superuser: it must be a member of the owner to create the owner's
    // database, extensions in the owner's schema and default privileges for the owner.
    const adminMembership = server.admin.superuser
      ? []
      : [
          new postgresql.GrantRole(
            `${name}-admin-acts-as-owner`,
            { role: server.admin.user, grantRole: roles.owner.name },
            { parent: this, provider: this.provider, retainOnDelete: keepData, deleteBeforeReplace: true },
          ),
        ];
    this.asAdmin = {
      parent: this,
      provider: this.provider,
      retainOnDelete: keepData,
      dependsOn: adminMembership,
    };

    const database = new postgresql.Database(
      `${name}-database`,
      { name: args.database, owner: roles.owner.name },
      this.asAdmin,
    );
    const extensions = EXTENSIONS.map(
      (extension) =>
        new postgresql.Extension(
          `${name}-${extension}`,
          { name: extension, database: database.name, schema: SCHEMA },
          this.asAdmin,
        ),
    );
    this.createGrants(name, database.name, roles, extensions);
    this.createDefaultPrivileges(name, database.name, roles);

    this.databaseName = database.name;
    this.ownerRole = roles.owner.name;
    this.roleNames = pulumi
      .all([roles.owner.name, roles.migrator.role.name, roles.app.role.name, roles.readonly.role.name])
      .apply(([owner, migrator, app, readonly]) => ({ owner, migrator, app, readonly }));
    const url = (login: Login, host: pulumi.Output<string>) =>
      pulumi.secret(
        pulumi
          .all([login.role.name, login.password, host, server.port, database.name])
          .apply(([user, password, hostName, port, databaseName]) =>
            connectionString({
              user,
              password,
              host: hostName,
              port,
              database: databaseName,
              sslmode: server.sslmode,
            }),
          ),
      );
    this.appUrl = url(roles.app, server.host);
    this.migratorUrl = url(roles.migrator, server.host);
    this.readonlyUrl = url(roles.readonly, server.readerHost);
    this.extensions = pulumi.all(extensions.map((extension) => extension.name));

    this.registerOutputs({
      databaseName: this.databaseName,
      ownerRole: this.ownerRole,
      roleNames: this.roleNames,
      appUrl: this.appUrl,
      migratorUrl: this.migratorUrl,
      readonlyUrl: this.readonlyUrl,
      extensions: this.extensions,
    });
  }

  private createRoles(name: string, names: RoleNames, keepData: boolean): Roles {
    const options = { parent: this, provider: this.provider, retainOnDelete: keepData };
    // The owner's memberships (OWNER_MEMBER_OF) are the role's own list, authoritative like its other
    // attributes. A managed service's admin grants pg_read_all_stats through rds_superuser.
    const owner = new postgresql.Role(
      `${name}-owner`,
      { name: names.owner, login: false, roles: OWNER_MEMBER_OF },
      options,
    );
    const login = (key: "migrator" | "app" | "readonly", extra: Partial<postgresql.RoleArgs> = {}): Login => {
      const password = pulumi.secret(generatedPassword(`${name}-${key}-password`, this).result);
      const role = new postgresql.Role(
        `${name}-${key}`,
        { name: names[key], login: true, password, ...extra },
        options,
      );
      return { role, password };
    };
    return {
      owner,
      // The migrator logs in and becomes the owner at once (ALTER ROLE ... SET role), so every object a
      // migration creates belongs to the owner and the default privileges apply to it.
      migrator: login("migrator", { roles: [owner.name], assumeRole: owner.name, inherit: true }),
      app: login("app"),
      readonly: login("readonly"),
    };
  }

  private createGrants(
    name: string,
    database: pulumi.Output<string>,
    roles: Roles,
    extensions: pulumi.Resource[],
  ) {
    // CONNECT explicitly, so the logins keep working if PUBLIC's default CONNECT is ever revoked.
    for (const key of ["migrator", "app", "readonly"] as const) {
      this.grant(
        `${name}-${key}-connect`,
        { database, role: roles[key].role.name, objectType: "database" },
        LOGIN_DATABASE_PRIVILEGES,
      );
    }
    // Schema `public`: nobody but the owner may create objects in it (PostgreSQL < 15 let PUBLIC), and only
    // our roles may use it. After the extensions, which the admin creates in it.
    const onSchema = (key: string, role: pulumi.Input<string>, privileges: string[]) =>
      this.grant(
        `${name}-${key}-schema`,
        { database, role, schema: SCHEMA, objectType: "schema" },
        privileges,
        extensions,
      );
    onSchema("public", "public", SCHEMA_PRIVILEGES.public);
    onSchema("owner", roles.owner.name, SCHEMA_PRIVILEGES.owner);
    onSchema("app", roles.app.role.name, SCHEMA_PRIVILEGES.app);
    onSchema("readonly", roles.readonly.role.name, SCHEMA_PRIVILEGES.readonly);
  }

  /** Default privileges FOR ROLE owner: the tables and sequences migrations create are usable at once. */
  private createDefaultPrivileges(name: string, database: pulumi.Output<string>, roles: Roles) {
    const defaults = (key: "app" | "readonly", objectType: "table" | "sequence", privileges: string[]) =>
      new postgresql.DefaultPrivileges(
        `${name}-${key}-default-${objectType}s`,
        {
          database,
          owner: roles.owner.name,
          role: roles[key].role.name,
          schema: SCHEMA,
          objectType,
          privileges: normalized(privileges),
        },
        { ...this.asAdmin, deleteBeforeReplace: true },
      );
    defaults("app", "table", APP_TABLE_PRIVILEGES);
    defaults("app", "sequence", APP_SEQUENCE_PRIVILEGES);
    defaults("readonly", "table", READONLY_TABLE_PRIVILEGES);
    defaults("readonly", "sequence", READONLY_SEQUENCE_PRIVILEGES);
  }

  /** One authoritative grant for its (role, database, schema, object type); see the header. */
  private grant(
    name: string,
    target: Omit<postgresql.GrantArgs, "privileges">,
    privileges: string[],
    after: pulumi.Resource[] = [],
  ): postgresql.Grant {
    const dependsOn = [...((this.asAdmin.dependsOn as pulumi.Resource[] | undefined) ?? []), ...after];
    return new postgresql.Grant(
      name,
      { ...target, privileges: normalized(privileges) },
      { ...this.asAdmin, deleteBeforeReplace: true, dependsOn },
    );
  }
}

interface Login {
  role: postgresql.Role;
  /** Secret. */
  password: pulumi.Output<string>;
}

interface Roles {
  owner: postgresql.Role;
  migrator: Login;
  app: Login;
  readonly: Login;
}

function normalized(privileges: string[]): string[] {
  return [...new Set(privileges.map((privilege) => privilege.toUpperCase()))].sort();
}
