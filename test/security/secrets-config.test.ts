// The Pulumi program's failing paths with a known admin password: stack config that is wrong in every way an
// admin URL can be wrong. The program stops before creating anything, and its message never repeats the
// password (nor does anything else it prints).
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../infra/config";
import { stackConfig } from "../infra/harness";
import { capturePrinted } from "./printed";

const PASSWORD = "Kn0wn-Admin-Pw!42";
const ENCODED = encodeURIComponent(PASSWORD);

/** The local stack's values, as `pulumi up` would pass them, keyed without the namespace. */
function localValues(extra: Record<string, string>): Record<string, string> {
  const values = Object.fromEntries(
    Object.entries(stackConfig("local")).map(([key, value]) => [key.replace(/^neonhub-db:/, ""), value]),
  );
  return { ...values, ...extra };
}

const CASES: [string, Record<string, string>, boolean][] = [
  ["not a URL", { adminUrl: `postgresql//postgres:${ENCODED}@127.0.0.1:54329/postgres` }, true],
  ["a port out of range", { adminUrl: `postgresql://postgres:${ENCODED}@127.0.0.1:99999/postgres` }, true],
  ["another protocol", { adminUrl: `mysql://postgres:${ENCODED}@127.0.0.1:3306/postgres` }, true],
  ["no user name", { adminUrl: `postgresql://:${ENCODED}@127.0.0.1:54329/postgres` }, true],
  [
    "a bad sslmode",
    { adminUrl: `postgresql://postgres:${ENCODED}@127.0.0.1:54329/postgres?sslmode=sometimes` },
    true,
  ],
  ["stored in plain text", { adminUrl: `postgresql://postgres:${ENCODED}@127.0.0.1:54329/postgres` }, false],
  ["under a misspelt key", { adminurl: `postgresql://postgres:${ENCODED}@127.0.0.1:54329/postgres` }, true],
];

/** What the config check throws and prints for these values. */
async function failureOf(values: Record<string, string>, secret: boolean) {
  let message = "";
  const printed = await capturePrinted(() => {
    try {
      parseStackConfig({
        stack: "local",
        values: localValues(values),
        isSecret: (key) => (key.toLowerCase() === "adminurl" ? secret : false),
      });
    } catch (error) {
      message = (error as Error).message;
    }
  });
  return { message, printed };
}

describe("stack config holding an admin password", () => {
  it.each(CASES)("%s: refused, naming the key and not the password", async (_label, values, secret) => {
    const { message, printed } = await failureOf(values, secret);
    expect(message).toMatch(/neonhub-db:adminUrl/);
    for (const text of [message, printed]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(ENCODED);
    }
  });
});
