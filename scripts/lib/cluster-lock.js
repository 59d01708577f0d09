// The lock that lets one `npm run local` (up, stop, destroy) at a time work on a cluster of the clone: a file
// beside the cluster folder that holds its holder's pid and a random nonce of that holding. A lock whose holder
// has ended (killed, crashed) is taken over, and of several processes that find it so at once, exactly one
// takes it over.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { SetupError, log } = require("./report");

/** @typedef {{ pid: number, text: string, id: string }} Holding */

/** Whether a process with this id runs (on this machine); one we may not signal runs too. */
function processRuns(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/**
 * What `file` holds ("<pid> <nonce>"; an older version wrote the pid alone), or undefined when it is gone.
 * `id` names the holding in file names: a hash of the text, since the text is read from a file.
 * @returns {Holding | undefined}
 */
function readHolding(file) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8").trim();
  } catch (error) {
    if (error.code === "ENOENT") return undefined;
    throw error;
  }
  const pid = text.split(" ")[0];
  return {
    pid: /^\d+$/.test(pid) ? Number(pid) : NaN,
    text,
    id: crypto.createHash("sha256").update(text).digest("hex").slice(0, 16),
  };
}

/** A file beside `file` holding `text`, for a link or rename that puts the text in place in one step. */
function written(file, text) {
  const temp = `${file}.${crypto.randomBytes(6).toString("hex")}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o644 });
  return temp;
}

/** Makes `file` holding `text` (a reader never sees it empty); false when it is there already. */
function createHolding(file, text) {
  const temp = written(file, text);
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (error) {
    if (error.code === "EEXIST") return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** The file whose maker may take over `holding` of `file`. */
function rightToTakeOver(file, holding) {
  return `${file}.${holding.id}.takeover`;
}

/**
 * Replaces `file`, which holds `stale` (a holder that has ended), with `text`; whether this process did.
 * Removing the stale file and then creating one's own would let a second process that found the same stale
 * holder remove the lock just taken over. So the right to replace a holding is a file named after it, made
 * with O_EXCL (one process wins it), and its winner replaces the lock in one rename, only while the lock still
 * holds that holding: a holding's nonce is never held again, so a later winner of the same right finds it
 * gone and backs off. A winner that ended before it was done leaves its right behind, with its own pid: a
 * holding of its own, taken over the same way.
 * @param {string} file
 * @param {Holding} stale
 * @param {string} text
 */
function takeOver(file, stale, text) {
  const right = rightToTakeOver(file, stale);
  if (!createHolding(right, text)) {
    const taker = readHolding(right);
    // Gone: its taker is done. Running: it is taking over now. Either way the lock is someone else's.
    if (taker === undefined || processRuns(taker.pid)) return false;
    if (!takeOver(right, taker, text)) return false;
  }
  try {
    if (readHolding(file)?.text !== stale.text) return false;
    fs.renameSync(written(file, text), file);
    return true;
  } finally {
    fs.rmSync(right, { force: true });
  }
}

/** How long ago `file` was last written, in ms; 0 when it is gone. */
function ageOf(file) {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Runs `fn` holding the cluster's lock, `<cluster folder>.lock`. Another `npm run local` (up, stop, destroy) of
 * the same clone waits for it; a lock whose process is gone (killed, crashed) is taken over. Gives up after
 * `waitMs`, naming the holder. `beforeTakeover` runs when a stale lock was found, before it is taken over (tests
 * use it to make two processes race on the same stale lock).
 * @template T
 * @param {import("./cluster").ClusterPaths} paths
 * @param {() => Promise<T> | T} fn
 * @param {{ waitMs?: number, beforeTakeover?: () => Promise<void> | void }} [options]
 * @returns {Promise<T>}
 */
async function withClusterLock(paths, fn, { waitMs = 10 * 60 * 1000, beforeTakeover = () => {} } = {}) {
  const lockFile = `${paths.root}.lock`;
  fs.mkdirSync(path.dirname(lockFile), { recursive: true, mode: 0o755 });
  const mine = `${process.pid} ${crypto.randomBytes(12).toString("hex")}`;
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    if (createHolding(lockFile, mine)) break;
    const holding = readHolding(lockFile);
    if (holding === undefined) continue; // released in between: try again
    const holder = holding.pid;
    // No pid: an older version's holder between creating and writing the file; still none after a while, a crash.
    const stale = Number.isInteger(holder) && holder > 0 ? !processRuns(holder) : ageOf(lockFile) > 5000;
    if (stale) {
      await beforeTakeover();
      if (takeOver(lockFile, holding, mine)) break;
      // Another process took it over, or is doing so: look again in a moment.
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    if (Date.now() > deadline) {
      throw new SetupError(
        `Another \`npm run local\` (pid ${holder}) has been using the local cluster for over ${Math.round(waitMs / 1000)} s (lock file ${lockFile}). Let it finish, or stop it; a lock whose process has ended is taken over by itself.`,
      );
    }
    if (!told) log(`another \`npm run local\` (pid ${holder}) is using the local cluster; waiting for it`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const release = () => {
    try {
      // Only a holder that ended can lose the lock to a takeover: between this read and the removal it is ours.
      if (readHolding(lockFile)?.text === mine) fs.rmSync(lockFile, { force: true });
    } catch {
      // already gone
    }
  };
  // Also on a process.exit() while fn runs; a signal leaves the file, and the next run takes it over (stale).
  process.once("exit", release);
  try {
    return await fn();
  } finally {
    release();
    process.removeListener("exit", release);
  }
}

module.exports = { withClusterLock, readHolding, rightToTakeOver };
