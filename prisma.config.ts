// The Prisma CLI's settings for the app's schema (docs/prisma.md). `prisma generate` and `prisma validate`
// need no database. Only the CLI's database commands read the URL, and of those only the read-only
// cross-checks belong here (`prisma db pull --print`, `prisma migrate diff`): the migrations are neonhub-db's.
import { defineConfig } from "prisma/config";

const directUrl = process.env.DIRECT_URL;

export default defineConfig({
  schema: "prisma/schema.prisma",
  ...(directUrl ? { datasource: { url: directUrl } } : {}),
});
