-- Identity and organizations: users, organizations, their roles and permissions, memberships and API keys.
--
-- IDs are text (Prisma's cuid() fills them); the gen_random_uuid() default serves writes that bypass Prisma.
-- Every foreign key is ON UPDATE CASCADE, as Prisma creates them; ON DELETE follows the plan's onDelete.
-- Foreign-key columns that lead no other index get one, so that deleting a parent does not scan the child.

-- Up Migration
CREATE TABLE "User" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "email" text NOT NULL,
  "name" text,
  "image" text,
  "emailVerified" timestamp(3),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "User_email_key" ON "User" ("email");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "User" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "Organization" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "slug" text NOT NULL,
  "name" text NOT NULL,
  "plan" text NOT NULL DEFAULT 'starter',
  "settings" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "Organization_slug_key" ON "Organization" ("slug");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Organization" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "OrganizationRole" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "name" text NOT NULL,
  "slug" text NOT NULL,
  "description" text,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "OrganizationRole_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "OrganizationRole_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "OrganizationRole_organizationId_slug_key" ON "OrganizationRole" ("organizationId", "slug");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "OrganizationRole" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "OrganizationPermission" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "key" text NOT NULL,
  "description" text,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "OrganizationPermission_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "OrganizationPermission_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "OrganizationPermission_organizationId_key_key"
  ON "OrganizationPermission" ("organizationId", "key");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "OrganizationPermission" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Which permissions a role grants: a pure join table, its organization is the role's.
CREATE TABLE "RolePermission" (
  "roleId" text NOT NULL,
  "permissionId" text NOT NULL,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "RolePermission_pkey" PRIMARY KEY ("roleId", "permissionId"),
  CONSTRAINT "RolePermission_roleId_fkey" FOREIGN KEY ("roleId")
    REFERENCES "OrganizationRole" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "RolePermission_permissionId_fkey" FOREIGN KEY ("permissionId")
    REFERENCES "OrganizationPermission" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "RolePermission_permissionId_idx" ON "RolePermission" ("permissionId");

-- The plan's model, plus "createdAt" like every table and a foreign key for "invitedById" (the draft
-- declares the column with no relation, so it could point at nobody).
CREATE TABLE "OrganizationMembership" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "userId" text NOT NULL,
  "roleId" text,
  "status" text NOT NULL DEFAULT 'active',
  "invitedById" text,
  "joinedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "OrganizationMembership_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "OrganizationMembership_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "OrganizationMembership_userId_fkey" FOREIGN KEY ("userId")
    REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "OrganizationMembership_roleId_fkey" FOREIGN KEY ("roleId")
    REFERENCES "OrganizationRole" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "OrganizationMembership_invitedById_fkey" FOREIGN KEY ("invitedById")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "OrganizationMembership_organizationId_userId_key"
  ON "OrganizationMembership" ("organizationId", "userId");
CREATE INDEX "OrganizationMembership_userId_idx" ON "OrganizationMembership" ("userId");
CREATE INDEX "OrganizationMembership_roleId_idx" ON "OrganizationMembership" ("roleId");
CREATE INDEX "OrganizationMembership_invitedById_idx" ON "OrganizationMembership" ("invitedById");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "OrganizationMembership" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- An API key is found by the hash of the token a caller presents, before its organization is known, so
-- "tokenHash" is unique on its own. (Section 5's idx_api_key_token_hash, unique per organization, is created
-- with the other hot-path indexes; it cannot serve that lookup because it leads with "organizationId".)
CREATE TABLE "ApiKey" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "createdById" text,
  "name" text NOT NULL,
  "tokenHash" text NOT NULL,
  "scopes" text[] NOT NULL DEFAULT ARRAY[]::text[],
  "lastUsedAt" timestamp(3),
  "expiresAt" timestamp(3),
  "revokedAt" timestamp(3),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "ApiKey_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "ApiKey_createdById_fkey" FOREIGN KEY ("createdById")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "ApiKey_tokenHash_key" ON "ApiKey" ("tokenHash");
CREATE INDEX "ApiKey_createdById_idx" ON "ApiKey" ("createdById");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "ApiKey" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Down Migration
DROP TABLE "ApiKey";
DROP TABLE "OrganizationMembership";
DROP TABLE "RolePermission";
DROP TABLE "OrganizationPermission";
DROP TABLE "OrganizationRole";
DROP TABLE "Organization";
DROP TABLE "User";
