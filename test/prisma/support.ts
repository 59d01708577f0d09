// The app's view of the database through the generated Prisma client (prisma/generated/client, made by
// `node scripts/prisma.js generate`, which `npm test` runs first): the pg driver adapter, and the
// organization named per transaction as docs/prisma.md tells apps to.
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient, type Prisma } from "../../prisma/generated/client/client";

export type Transaction = Prisma.TransactionClient;

export function prismaClient(connectionString: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString }) });
}

/**
 * Runs `fn` in one interactive transaction with `organizationId` set for that transaction only, and the
 * signed-in user when given (app.current_user_id: "User" shows a session itself and its organization's members).
 */
export function asOrganization<T>(
  prisma: PrismaClient,
  organizationId: string,
  fn: (tx: Transaction) => Promise<T>,
  userId?: string,
): Promise<T> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT set_config('app.current_organization_id', ${organizationId}, true)`;
    if (userId !== undefined) await tx.$executeRaw`SELECT set_config('app.current_user_id', ${userId}, true)`;
    return fn(tx);
  });
}
