-- Fine-tuned model versions of an organization, the training jobs that make them and the inference
-- endpoints that serve them. Training jobs reach the organization through their model version.

-- Up Migration
CREATE TABLE "ModelVersion" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "name" text NOT NULL,
  "provider" text NOT NULL,
  "baseModel" text,
  "version" text NOT NULL,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "ModelVersion_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "ModelVersion_organizationId_name_version_key"
  ON "ModelVersion" ("organizationId", "name", "version");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "ModelVersion" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- "startedAt" is null while the job is queued.
CREATE TABLE "TrainingJob" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "modelVersionId" text NOT NULL,
  "datasetId" text,
  "status" "TrainStatus" NOT NULL DEFAULT 'queued',
  "config" jsonb NOT NULL DEFAULT '{}'::jsonb,
  "metrics" jsonb,
  "error" text,
  "startedAt" timestamp(3),
  "completedAt" timestamp(3),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "TrainingJob_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "TrainingJob_modelVersionId_fkey" FOREIGN KEY ("modelVersionId")
    REFERENCES "ModelVersion" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "TrainingJob_datasetId_fkey" FOREIGN KEY ("datasetId")
    REFERENCES "Dataset" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "TrainingJob_modelVersionId_idx" ON "TrainingJob" ("modelVersionId");
CREATE INDEX "TrainingJob_datasetId_idx" ON "TrainingJob" ("datasetId");
-- Workers take the oldest queued job.
CREATE INDEX "TrainingJob_status_createdAt_idx" ON "TrainingJob" ("status", "createdAt");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "TrainingJob" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "InferenceEndpoint" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "modelVersionId" text,
  "name" text NOT NULL,
  "slug" text NOT NULL,
  "url" text,
  "status" text NOT NULL DEFAULT 'inactive',
  "config" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "InferenceEndpoint_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "InferenceEndpoint_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "InferenceEndpoint_modelVersionId_fkey" FOREIGN KEY ("modelVersionId")
    REFERENCES "ModelVersion" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "InferenceEndpoint_organizationId_slug_key" ON "InferenceEndpoint" ("organizationId", "slug");
CREATE INDEX "InferenceEndpoint_modelVersionId_idx" ON "InferenceEndpoint" ("modelVersionId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "InferenceEndpoint" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Down Migration
DROP TABLE "InferenceEndpoint";
DROP TABLE "TrainingJob";
DROP TABLE "ModelVersion";
