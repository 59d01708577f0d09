// What every server component hands to the access layer.
import * as pulumi from "@pulumi/pulumi";
import { ServerKind } from "../config";

/** How `pulumi up` reaches the server as its administrator. */
export interface AdminAccess {
  /** Host the PostgreSQL provider dials: the server itself, or a tunnel's local end. */
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  user: pulumi.Output<string>;
  /** Always a secret Output. */
  password: pulumi.Output<string>;
  /** The maintenance database the admin connects to. */
  database: string;
  sslmode: string;
  /** False on managed services, where the admin must be granted roles to act for them. */
  superuser: boolean;
}

/** Where applications connect, plus the admin access used to set the database up. */
export interface ServerConnection {
  kind: ServerKind;
  /** The writer's host name, as applications see it. */
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  /** Host for read-only connections: Aurora's reader endpoint, otherwise the writer. */
  readerHost: pulumi.Output<string>;
  /** sslmode applications must use; undefined leaves the client default. */
  sslmode?: string;
  admin: AdminAccess;
}

/** A server component: a PostgreSQL 16 server with pgvector available. */
export interface DatabaseServer {
  readonly connection: ServerConnection;
  /** The tuned settings the server runs with (or, for an existing server, the recommended ones). */
  readonly settings: pulumi.Output<Record<string, string>>;
}
