// The lock that keeps two `npm run local` (up, stop, destroy) from working on the cluster at once, and its
// takeover of a lock whose holder died: real processes racing on the lock file, ordered by marker files
// (each waits for the other's marker, never for a time), so the interleaving is the same on every run.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import cluster from "../../scripts/lib/cluster";
import clusterLock from "../../scripts/lib/cluster-lock";
import { scratchDir } from "../support/scratch";

const CLUSTER_LIB = path.resolve(__dirname, "..", "..", "scripts", "lib", "cluster.js");

/**
 * A process that takes the cluster lock. `first` takes over the stale lock once `late` has seen it stale
 * too, and holds it until `late` is done; `late` takes over only once `first` holds the lock, and gives up
 * at once (waitMs 0) when it cannot. A holder that finds `inside` already made reports an overlap.
 */
const RACER = `
const fs = require("node:fs");
const path = require("node:path");
const cluster = require(process.env.CLUSTER_LIB);
const dir = process.env.RACE_DIR;
const role = process.env.RACE_ROLE;
const mark = (name) => fs.writeFileSync(path.join(dir, name), String(process.pid));
const until = async (name) => {
  while (!fs.existsSync(path.join(dir, name))) await new Promise((resolve) => setTimeout(resolve, 5));
};
const hold = async (whileInside) => {
  try {
    fs.closeSync(fs.openSync(path.join(dir, "inside"), "wx"));
  } catch (error) {
    if (error.code !== "EEXIST") throw error;
    mark("overlap");
    return;
  }
  await whileInside();
  fs.rmSync(path.join(dir, "inside"));
};
const paths = cluster.clusterPaths("local", dir);
const run =
  role === "first"
    ? cluster.withClusterLock(paths, () => hold(async () => { mark("first-inside"); await until("late-done"); }), {
        beforeTakeover: async () => { mark("first-stale"); await until("late-stale"); },
      })
    : cluster.withClusterLock(paths, () => hold(async () => {}), {
        waitMs: 0,
        beforeTakeover: async () => { mark("late-stale"); await until("first-stale"); await until("first-inside"); },
      });
run
  .then(() => mark(role + "-held"))
  .catch((error) => process.stderr.write(String(error.message) + "\\n"))
  .finally(() => mark(role + "-done"));
`;

function racer(dir: string, role: "first" | "late"): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", RACER], {
      env: { ...process.env, CLUSTER_LIB, RACE_DIR: dir, RACE_ROLE: role, NEONHUB_LOCAL_ROOT: dir },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

/** The id of a process that has ended. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ["-e", ""]).pid;
  if (!pid) throw new Error("could not start a process to take a pid from");
  return pid;
}

describe("the local cluster's lock", () => {
  it("is taken over by one of two processes that both found its holder dead", async () => {
    const dir = scratchDir("neonhub-lock-");
    const lockFile = `${cluster.clusterPaths("local", dir).root}.lock`;
    // A run killed while it held the lock (as an older version wrote it: its pid alone).
    writeFileSync(lockFile, String(deadPid()));
    const [first, late] = await Promise.all([racer(dir, "first"), racer(dir, "late")]);
    expect(existsSync(path.join(dir, "overlap"))).toBe(false);
    expect(first).toEqual({ code: 0, stderr: "" });
    expect(existsSync(path.join(dir, "first-held"))).toBe(true);
    // The late one found the lock taken over by a live process: it waited for it (here: not at all) and says so.
    expect(existsSync(path.join(dir, "late-held"))).toBe(false);
    const firstPid = readFileSync(path.join(dir, "first-inside"), "utf8");
    expect(late.stderr).toContain(
      `Another \`npm run local\` (pid ${firstPid}) has been using the local cluster`,
    );
    // Released, and nothing of the takeover left beside it.
    expect(readdirSync(dir).filter((name) => name.startsWith("local."))).toEqual([]);
  });

  it("is taken over when the process that was taking it over ended midway", async () => {
    const dir = scratchDir("neonhub-lock-");
    const paths = cluster.clusterPaths("local", dir);
    const lockFile = `${paths.root}.lock`;
    writeFileSync(lockFile, `${deadPid()} 0123abcd`);
    const holding = clusterLock.readHolding(lockFile);
    writeFileSync(clusterLock.rightToTakeOver(lockFile, holding!), `${deadPid()} 4567ef01`);
    expect(await cluster.withClusterLock(paths, () => readFileSync(lockFile, "utf8"))).toMatch(
      new RegExp(`^${process.pid} [0-9a-f]+$`),
    );
    expect(readdirSync(dir).filter((name) => name.startsWith("local."))).toEqual([]);
  });
});
