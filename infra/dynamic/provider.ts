// The schema-release provider as Pulumi serializes it into the state. Its methods run in the dynamic-provider
// host, a separate Node process that the Pulumi engine starts in the project directory, not in the program.
// So the object captures nothing but code: no module (node-pg-migrate is ESM-only and breaks the closure
// serializer), no path of the machine that ran the program, no secret, no environment value. At run time
// each method finds the project root, registers tsx (the engine and these handlers are TypeScript, and the
// host is plain Node) and requires the handlers from there; Node's module cache makes that a lookup after the
// first call.
import type * as pulumi from "@pulumi/pulumi";
import type * as Handlers from "./handlers";

function handlers(): typeof Handlers {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const path = require("node:path") as typeof import("node:path");
  const { existsSync } = require("node:fs") as typeof import("node:fs");
  const { createRequire } = require("node:module") as typeof import("node:module");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const entry = path.join("infra", "dynamic", "handlers.ts");
  // PULUMI_ROOT_DIRECTORY (the folder of Pulumi.yaml) where the CLI sets it for plugins; otherwise the host's
  // working directory, which is the project directory too (the host is found from there).
  const candidates = [process.env.PULUMI_ROOT_DIRECTORY, process.cwd()].filter((dir): dir is string => !!dir);
  const root = candidates.find((dir) => existsSync(path.join(dir, entry)));
  if (root === undefined) {
    // The operator's mistake, not a bug: the engine shows the message as the resource's error, and the host's
    // own line (`${error}: ${error.stack}`) says only that, with no stack trace, as shown-text.ts's hostLine
    // does for the engine's errors (which this code cannot import: nothing is found yet).
    const error = new Error(
      `The schema release provider cannot find ${entry} under ${candidates.join(" or ")}: pulumi ran outside the neonhub-db project. ` +
        "Run pulumi from the neonhub-db project directory, the folder that holds its Pulumi.yaml and infra/ (cd there, or pass it as pulumi --cwd).",
    );
    error.stack = "not run from the neonhub-db project directory, shown as the resource's error";
    error.toString = () => "neonhub-db";
    throw error;
  }
  const fromRoot = createRequire(path.join(root, "package.json"));
  fromRoot("tsx/cjs");
  return fromRoot(`./${entry}`) as typeof Handlers;
}

export const releaseProvider: pulumi.dynamic.ResourceProvider = {
  check: async (olds, news) => handlers().check(olds, news),
  diff: async (id, olds, news) => handlers().diff(id, olds, news),
  create: async (inputs) => handlers().create(inputs),
  read: async (id, props) => handlers().read(id, props ?? {}),
  update: async (id, olds, news) => handlers().update(id, olds, news),
  delete: async (id, props) => handlers().remove(id, props),
};
