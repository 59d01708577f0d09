// The `dev` stack's server: PostgreSQL 16 with pgvector in a container, data in a named volume, reachable
// on 127.0.0.1 only, started with tuned `-c` settings.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { generatedPassword } from "../passwords";
import { PostgresSettings, dockerShmSizeMb, toDockerFlags, toSettingsMap } from "../tuning";
import { DatabaseServer, ServerConnection } from "./types";

export interface DockerServerArgs {
  /** Image with PostgreSQL 16 and pgvector, pinned by tag or digest (e.g. `pgvector/pgvector:pg16`). */
  image: pulumi.Input<string>;
  /** Host port, bound on 127.0.0.1. */
  port: number;
  /** Container memory limit in MiB; the settings are tuned for it. */
  memoryMb: number;
  /** CPUs the container may use. */
  cpus: number;
  /** Tuned settings, passed as `postgres -c name=value`. */
  settings: PostgresSettings;
  /** Keep the data volume when the stack is destroyed. */
  keepData: boolean;
  /** Stack name, part of the container and volume names so stacks can share a Docker engine. */
  stack: string;
}

const DATA_DIR = "/var/lib/postgresql/data";
const ADMIN_USER = "postgres";
const BIND_ADDRESS = "127.0.0.1";

export class DockerServer extends pulumi.ComponentResource implements DatabaseServer {
  public readonly connection: ServerConnection;
  public readonly settings: pulumi.Output<Record<string, string>>;
  public readonly container: docker.Container;

  constructor(name: string, args: DockerServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:DockerServer", name, args, opts);
    const { settings, keepData, stack } = args;
    const labels = [
      { label: "com.neonhub.project", value: "neonhub-db" },
      { label: "com.neonhub.stack", value: stack },
    ];

    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: args.image, keepLocally: true },
      { parent: this },
    );
    // retainOnDelete keeps the data when the stack goes away; `docker volume rm` discards it.
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `neonhub-db-${stack}-data`, labels },
      { parent: this, retainOnDelete: keepData },
    );
    const adminPassword = generatedPassword(`${name}-admin-password`, this);

    this.container = new docker.Container(
      `${name}-postgres`,
      {
        name: `neonhub-db-${stack}`,
        image: image.imageId,
        command: ["postgres", ...toDockerFlags(settings)],
        // The image's entrypoint runs initdb with this password on an empty volume only.
        envs: pulumi.secret(
          adminPassword.result.apply((password) => [
            `POSTGRES_USER=${ADMIN_USER}`,
            `POSTGRES_PASSWORD=${password}`,
            "POSTGRES_DB=postgres",
          ]),
        ),
        ports: [{ internal: 5432, external: args.port, ip: BIND_ADDRESS }],
        volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
        shmSize: dockerShmSizeMb(settings),
        memory: args.memoryMb,
        cpus: String(args.cpus),
        // Over TCP on purpose: during initdb the entrypoint's temporary server listens on the socket only,
        // so the check passes once the real server is up.
        healthcheck: {
          tests: ["CMD", "pg_isready", "-U", ADMIN_USER, "-h", "127.0.0.1", "-p", "5432"],
          interval: "5s",
          timeout: "5s",
          retries: 12,
          startPeriod: "60s",
        },
        // `pulumi up` returns only when the health check passes, so the access layer finds a live server.
        wait: true,
        waitTimeout: 300,
        restart: "unless-stopped",
        labels,
      },
      // The name, host port and data volume cannot be shared: the old container must go first.
      { parent: this, deleteBeforeReplace: true },
    );

    // Read from the container so everything that connects waits for it.
    const published = this.container.ports.apply((ports) => ports?.[0]);
    const host = published.apply((p) => p?.ip ?? BIND_ADDRESS);
    const port = published.apply((p) => p?.external ?? args.port);
    this.connection = {
      kind: "docker",
      host,
      port,
      readerHost: host,
      admin: {
        host,
        port,
        user: pulumi.output(ADMIN_USER),
        password: pulumi.secret(adminPassword.result),
        database: "postgres",
        sslmode: "disable",
        superuser: true,
      },
    };
    this.settings = pulumi.output(toSettingsMap(settings));

    this.registerOutputs({ host, port, containerName: this.container.name, settings: this.settings });
  }
}
