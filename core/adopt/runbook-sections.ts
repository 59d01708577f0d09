// The runbook's sections that the messages of an adoption and of the Prisma-era upgrade send the operator to, by
// title as docs/runbook.md writes it (test/docs/links.test.ts checks that each exists): a message names the
// section of its own case, baseline's and adopt's or the upgrade in place's, never the other's.

/** baseline and adopt: a schema the migrations built elsewhere, or the node-pg-migrate CLI's ledger. */
export const ADOPTING_SECTION = 'docs/runbook.md, "Adopting an existing database"';

/** The Prisma-era NeonHub database and its upgrade in place (`apply --upgrade-legacy`). */
export const UPGRADING_SECTION = 'docs/runbook.md, "Upgrading a Prisma-era database"';
