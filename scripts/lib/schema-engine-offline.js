#!/usr/bin/env node
// Stands in for Prisma's schema engine where its binary cannot be downloaded (no network besides the npm
// registry). `prisma generate` and `prisma validate` never run it; a command that needs it stops here.
"use strict";

process.stderr.write(
  "Prisma's schema engine is not installed (its binary is downloaded from Prisma's servers, which this machine cannot reach).\n" +
    "`prisma generate` and `prisma validate` work without it. For `prisma db pull` or `prisma migrate diff`, run\n" +
    "`npx prisma version` on a machine with network access (it downloads the engine), or set\n" +
    "PRISMA_SCHEMA_ENGINE_BINARY to an installed schema-engine.\n",
);
process.exit(1);
