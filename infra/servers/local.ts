// The `local` stack's server: one that already runs (the cluster `npm run local` starts, or any other),
// reached with the admin connection string from secret config. Pulumi manages what is inside it, not it.
import * as pulumi from "@pulumi/pulumi";
import { AdminConnection } from "../validators";
import { PostgresSettings, toSettingsMap } from "../tuning";
import { DatabaseServer, ServerConnection } from "./types";

/** The admin connection, with the password as a secret (component inputs are recorded in the state). */
export type ExistingServerAdmin = Omit<AdminConnection, "password"> & { password: pulumi.Input<string> };

export interface ExistingServerArgs {
  /** The admin connection parsed from `neonhub-db:adminUrl`; pass the password as a secret Output. */
  admin: ExistingServerAdmin;
  /** Whether the admin login is a superuser. */
  adminSuperuser: boolean;
  /** Settings recommended for the machine; exported, not applied (the server's configuration is not ours). */
  settings: PostgresSettings;
}

export class ExistingServer extends pulumi.ComponentResource implements DatabaseServer {
  public readonly connection: ServerConnection;
  public readonly settings: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ExistingServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:ExistingServer", name, args, opts);
    const { admin, adminSuperuser, settings } = args;

    const host = pulumi.output(admin.host);
    const port = pulumi.output(admin.port);
    this.connection = {
      kind: "existing",
      host,
      port,
      readerHost: host,
      // Apps get the admin URL's TLS requirement; loopback needs none.
      sslmode: admin.sslmode === "disable" || admin.sslmode === "prefer" ? undefined : admin.sslmode,
      admin: {
        host,
        port,
        user: pulumi.output(admin.user),
        password: pulumi.secret(admin.password),
        database: admin.database,
        sslmode: admin.sslmode,
        superuser: adminSuperuser,
      },
    };
    this.settings = pulumi.output(toSettingsMap(settings));

    this.registerOutputs({ host, port, settings: this.settings });
  }
}
