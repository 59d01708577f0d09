// A table the release's role does not own: plan skips its count index (the role may not build it) and its
// reason prints the ALTER TABLE ... OWNER TO that hands the table over. The role is named there as SQL reads a
// name, quoted: an owner role named with capitals or a double quote (roles made by hand may be) got a
// statement the server refused, or one that named another role.
import { describe, expect, it } from "vitest";
import { planRelease, quoteIdentifier } from "../../core";
import { useReleasedDatabase } from "../security/released-database";
import { withClient } from "../support/database";
import { CHUNK, isCountIndex, releaseOptions } from "./support";

const target = useReleasedDatabase("countowner");

describe("the count index of a table another role owns", () => {
  it("is skipped with an OWNER TO that names the release's role as SQL reads it, which lets the next plan build it", async () => {
    const { db, roles } = target.current;
    const asAdmin = (sql: string) => withClient(db.url, (c) => c.query(sql));
    // The stack's owner role under a name that needs quoting; it keeps what it owns (the release's ledger).
    const owner = `Count "Owner" ${db.name}`;
    const plannedChunkIndex = async () => {
      const plan = await planRelease({ ...releaseOptions(db.url), ownerRole: owner });
      return plan.vectorIndexes.filter(isCountIndex).find((item) => item.name === CHUNK.countIndexName);
    };
    await asAdmin(`ALTER ROLE ${quoteIdentifier(roles.names.owner)} RENAME TO ${quoteIdentifier(owner)}`);
    try {
      await asAdmin(
        `ALTER TABLE ${quoteIdentifier(CHUNK.table)} OWNER TO ${quoteIdentifier(roles.names.app)}`,
      );
      await asAdmin(`DROP INDEX ${quoteIdentifier(CHUNK.countIndexName)}`);

      const skipped = await plannedChunkIndex();
      expect(skipped).toMatchObject({ action: "unchanged", decision: "skip", skip: "not-owner" });
      const handOver = /hand it the table: (ALTER TABLE .+)$/.exec(skipped!.reason ?? "")?.[1];
      expect(handOver, skipped!.reason).toBe(
        `ALTER TABLE ${quoteIdentifier(CHUNK.table)} OWNER TO ${quoteIdentifier(owner)}`,
      );
      // The statement as printed, run by the admin: the table is the role's again, and plan builds the index.
      await asAdmin(handOver!);
      expect(await plannedChunkIndex()).toMatchObject({ action: "create" });
    } finally {
      await asAdmin(`ALTER ROLE ${quoteIdentifier(owner)} RENAME TO ${quoteIdentifier(roles.names.owner)}`);
    }
  });
});
