-- Content and campaigns of an organization. As the plan asks, every one of these tables carries
-- "organizationId" itself (row-level security can then filter without a join). A campaign's metrics, email
-- sequences, social posts and A/B tests name their organization twice, directly and through the campaign,
-- so their campaign foreign key is composite ("campaignId", "organizationId"): the two can never disagree.
-- idx_campaign_metric_ts ("campaignId", "kind", "timestamp") comes with the Section 5 indexes.

-- Up Migration
CREATE TABLE "Content" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "brandId" text,
  "authorId" text,
  "kind" "ContentKind" NOT NULL,
  "status" text NOT NULL DEFAULT 'draft',
  "title" text,
  "body" text,
  "metadata" jsonb,
  "publishedAt" timestamp(3),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Content_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Content_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Content_brandId_fkey" FOREIGN KEY ("brandId")
    REFERENCES "Brand" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Content_authorId_fkey" FOREIGN KEY ("authorId")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "Content_organizationId_kind_createdAt_idx" ON "Content" ("organizationId", "kind", "createdAt");
CREATE INDEX "Content_brandId_idx" ON "Content" ("brandId");
CREATE INDEX "Content_authorId_idx" ON "Content" ("authorId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Content" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "Campaign" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "brandId" text,
  "ownerId" text,
  "name" text NOT NULL,
  "status" "CampaignStatus" NOT NULL DEFAULT 'draft',
  "description" text,
  "budget" jsonb,
  "config" jsonb,
  "startsAt" timestamp(3),
  "endsAt" timestamp(3),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Campaign_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Campaign_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Campaign_brandId_fkey" FOREIGN KEY ("brandId")
    REFERENCES "Brand" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Campaign_ownerId_fkey" FOREIGN KEY ("ownerId")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "Campaign_organizationId_status_idx" ON "Campaign" ("organizationId", "status");
-- The target of the composite foreign keys below.
CREATE UNIQUE INDEX "Campaign_id_organizationId_key" ON "Campaign" ("id", "organizationId");
CREATE INDEX "Campaign_brandId_idx" ON "Campaign" ("brandId");
CREATE INDEX "Campaign_ownerId_idx" ON "Campaign" ("ownerId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Campaign" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Append-only time series: "timestamp" is when the value was observed, "createdAt" when it was recorded.
CREATE TABLE "CampaignMetric" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "campaignId" text NOT NULL,
  "kind" text NOT NULL,
  "value" double precision NOT NULL,
  "payload" jsonb,
  "timestamp" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "CampaignMetric_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "CampaignMetric_campaignId_organizationId_fkey" FOREIGN KEY ("campaignId", "organizationId")
    REFERENCES "Campaign" ("id", "organizationId") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "CampaignMetric_organizationId_idx" ON "CampaignMetric" ("organizationId");

CREATE TABLE "EmailSequence" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "campaignId" text NOT NULL,
  "name" text NOT NULL,
  "subject" text NOT NULL,
  "body" text NOT NULL,
  "variant" text,
  "scheduledFor" timestamp(3),
  "sentAt" timestamp(3),
  "metrics" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "EmailSequence_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "EmailSequence_campaignId_organizationId_fkey" FOREIGN KEY ("campaignId", "organizationId")
    REFERENCES "Campaign" ("id", "organizationId") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "EmailSequence_campaignId_scheduledFor_idx" ON "EmailSequence" ("campaignId", "scheduledFor");
CREATE INDEX "EmailSequence_organizationId_idx" ON "EmailSequence" ("organizationId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "EmailSequence" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "SocialPost" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "campaignId" text NOT NULL,
  "platform" text NOT NULL,
  "content" text NOT NULL,
  "mediaUrls" text[] NOT NULL DEFAULT ARRAY[]::text[],
  "variant" text,
  "scheduledFor" timestamp(3),
  "publishedAt" timestamp(3),
  "externalId" text,
  "metrics" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "SocialPost_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "SocialPost_campaignId_organizationId_fkey" FOREIGN KEY ("campaignId", "organizationId")
    REFERENCES "Campaign" ("id", "organizationId") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "SocialPost_campaignId_platform_scheduledFor_idx"
  ON "SocialPost" ("campaignId", "platform", "scheduledFor");
CREATE INDEX "SocialPost_organizationId_idx" ON "SocialPost" ("organizationId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "SocialPost" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "ABTest" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "campaignId" text NOT NULL,
  "name" text NOT NULL,
  "variants" jsonb NOT NULL,
  "winner" text,
  "metrics" jsonb,
  "startedAt" timestamp(3),
  "completedAt" timestamp(3),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "ABTest_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "ABTest_campaignId_organizationId_fkey" FOREIGN KEY ("campaignId", "organizationId")
    REFERENCES "Campaign" ("id", "organizationId") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "ABTest_campaignId_idx" ON "ABTest" ("campaignId");
CREATE INDEX "ABTest_organizationId_idx" ON "ABTest" ("organizationId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "ABTest" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Down Migration
DROP TABLE "ABTest";
DROP TABLE "SocialPost";
DROP TABLE "EmailSequence";
DROP TABLE "CampaignMetric";
DROP TABLE "Campaign";
DROP TABLE "Content";
