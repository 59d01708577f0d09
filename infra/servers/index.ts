// One server component per server kind; `createServer` picks the stack's.
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../config";
import { tunePostgres } from "../tuning";
import { DockerServer } from "./docker";
import { ExistingServer } from "./local";
import { RdsServer } from "./rds";

export { DockerServer, DockerServerArgs } from "./docker";
export { ExistingServer, ExistingServerArgs } from "./local";
export { RdsNetwork, RdsNetworkArgs } from "./network";
export { RdsServer, RdsServerArgs } from "./rds";
export { AdminAccess, DatabaseServer, ServerConnection } from "./types";

export type AnyServer = ExistingServer | DockerServer | RdsServer;

/** The stack's server, with PostgreSQL tuned for its size and the configured workload. */
export function createServer(name: string, config: StackConfig): AnyServer {
  const { server } = config;
  const settings = tunePostgres({
    ...server.hardware,
    workload: config.workload,
    maxConnections: config.maxConnections,
  });
  switch (server.kind) {
    case "existing":
      return new ExistingServer(name, {
        admin: { ...server.admin, password: pulumi.secret(server.admin.password) },
        adminSuperuser: server.adminSuperuser,
        settings,
      });
    case "docker":
      return new DockerServer(name, {
        image: server.image,
        port: server.port,
        memoryMb: server.hardware.memoryMb,
        cpus: server.hardware.cpus,
        settings,
        keepData: config.keepData,
        stack: config.stack,
      });
    case "rds":
    case "aurora":
      return new RdsServer(name, { config: server, settings, stack: config.stack });
  }
}
