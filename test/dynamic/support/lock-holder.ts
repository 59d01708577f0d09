// A session of the test that holds a lock while a provider method runs: the lock is real, nothing is mocked.
import { Client } from "pg";

/** The holder's application_name, as a lock timeout's error names it. */
export const HOLDER_APPLICATION = "lock-holder-of-the-test";

/** Runs `fn` while a session of the test holds, in an open transaction, what `lockSql` takes; with its pid. */
export async function whileHolding<T>(
  url: string,
  lockSql: string,
  fn: (pid: number) => Promise<T>,
): Promise<T> {
  const holder = new Client({ connectionString: url, application_name: HOLDER_APPLICATION });
  await holder.connect();
  try {
    await holder.query(`BEGIN; ${lockSql}`);
    const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    return await fn(pid);
  } finally {
    await holder.end();
  }
}

/** Runs `fn` while a session of the test holds ACCESS EXCLUSIVE on `table`, with that session's pid. */
export function whileLocked<T>(url: string, table: string, fn: (pid: number) => Promise<T>): Promise<T> {
  return whileHolding(url, `LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`, fn);
}
