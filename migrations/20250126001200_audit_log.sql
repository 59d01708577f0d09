-- The audit trail: who (actor type and id) did what (action) to which resource, in which organization, and
-- a hash of the request payload, so that a request can be matched without storing what it carried.
--
-- "actorId" has no foreign key on purpose: it names a user, an API key or an agent depending on
-- "actorType", and audit rows must outlive the actors they name. "organizationId" is null for platform
-- events; deleting an organization keeps its trail (ON DELETE SET NULL) for compliance.

-- Up Migration
CREATE TABLE "AuditLog" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text,
  "actorType" "AuditActorType" NOT NULL,
  "actorId" text,
  "action" text NOT NULL,
  "resourceType" text,
  "resourceId" text,
  "requestHash" text,
  "ip" text,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "AuditLog_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "AuditLog_organizationId_createdAt_idx" ON "AuditLog" ("organizationId", "createdAt");
CREATE INDEX "AuditLog_actorType_actorId_createdAt_idx" ON "AuditLog" ("actorType", "actorId", "createdAt");
CREATE INDEX "AuditLog_resourceType_resourceId_idx" ON "AuditLog" ("resourceType", "resourceId");
CREATE INDEX "AuditLog_requestHash_idx" ON "AuditLog" ("requestHash");

-- Down Migration
DROP TABLE "AuditLog";
