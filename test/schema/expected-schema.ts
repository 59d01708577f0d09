// What the migrations must build, written out by hand from the plan (and its fixes) so that the catalog
// tests compare the database against an independent statement of intent, not against itself.

const TS = "timestamp(3) without time zone";
const req = (type: string) => `${type} NOT NULL`;
const opt = (type: string) => type;

/** Columns shared by most tables. */
const id = { id: req("text") };
const created = { createdAt: req(TS) };
const stamps = { createdAt: req(TS), updatedAt: req(TS) };

/** table → column → "type[ NOT NULL]", in format_type() spelling. */
export const TABLES: Record<string, Record<string, string>> = {
  User: {
    ...id,
    email: req("text"),
    name: opt("text"),
    image: opt("text"),
    emailVerified: opt(TS),
    ...stamps,
  },
  Organization: {
    ...id,
    slug: req("text"),
    name: req("text"),
    plan: req("text"),
    settings: opt("jsonb"),
    ...stamps,
  },
  OrganizationRole: {
    ...id,
    organizationId: req("text"),
    name: req("text"),
    slug: req("text"),
    description: opt("text"),
    ...stamps,
  },
  OrganizationPermission: {
    ...id,
    organizationId: req("text"),
    key: req("text"),
    description: opt("text"),
    ...stamps,
  },
  RolePermission: { roleId: req("text"), permissionId: req("text"), ...created },
  OrganizationMembership: {
    ...id,
    organizationId: req("text"),
    userId: req("text"),
    roleId: opt("text"),
    status: req("text"),
    invitedById: opt("text"),
    joinedAt: req(TS),
    ...stamps,
  },
  ApiKey: {
    ...id,
    organizationId: req("text"),
    createdById: opt("text"),
    name: req("text"),
    tokenHash: req("text"),
    scopes: req("text[]"),
    lastUsedAt: opt(TS),
    expiresAt: opt(TS),
    revokedAt: opt(TS),
    ...stamps,
  },
  EmbeddingSpace: {
    ...id,
    provider: req("text"),
    model: req("text"),
    dimension: req("integer"),
    metadata: opt("jsonb"),
    ...stamps,
  },
  Brand: {
    ...id,
    organizationId: req("text"),
    name: req("text"),
    slug: req("text"),
    description: opt("text"),
    metadata: opt("jsonb"),
    ...stamps,
  },
  BrandVoice: {
    ...id,
    brandId: req("text"),
    embeddingSpaceId: req("text"),
    promptTemplate: req("text"),
    styleRulesJson: req("jsonb"),
    embedding: opt("vector"),
    ...stamps,
  },
  BrandAsset: {
    ...id,
    brandId: req("text"),
    kind: req("text"),
    name: req("text"),
    url: opt("text"),
    metadata: opt("jsonb"),
    ...stamps,
  },
  Agent: {
    ...id,
    organizationId: req("text"),
    name: req("text"),
    slug: req("text"),
    kind: req('"AgentKind"'),
    status: req('"AgentStatus"'),
    description: opt("text"),
    ...stamps,
  },
  AgentConfig: { ...id, agentId: req("text"), key: req("text"), value: req("jsonb"), ...stamps },
  AgentCapability: { ...id, agentId: req("text"), name: req("text"), config: opt("jsonb"), ...stamps },
  Tool: {
    ...id,
    organizationId: req("text"),
    name: req("text"),
    slug: req("text"),
    description: opt("text"),
    inputSchema: opt("jsonb"),
    outputSchema: opt("jsonb"),
    ...stamps,
  },
  AgentRun: {
    ...id,
    agentId: req("text"),
    triggeredById: opt("text"),
    status: req("text"),
    input: req("jsonb"),
    output: opt("jsonb"),
    error: opt("text"),
    startedAt: req(TS),
    completedAt: opt(TS),
    ...stamps,
  },
  ToolExecution: {
    ...id,
    toolId: req("text"),
    agentRunId: opt("text"),
    status: req("text"),
    input: opt("jsonb"),
    output: opt("jsonb"),
    error: opt("text"),
    startedAt: opt(TS),
    completedAt: opt(TS),
    ...stamps,
  },
  AgentRunMetric: {
    ...id,
    agentRunId: req("text"),
    name: req("text"),
    value: req("double precision"),
    unit: opt("text"),
    metadata: opt("jsonb"),
    ...created,
  },
  Conversation: {
    ...id,
    organizationId: req("text"),
    createdById: opt("text"),
    agentId: opt("text"),
    kind: req('"ConversationKind"'),
    title: opt("text"),
    metadata: opt("jsonb"),
    ...stamps,
  },
  Message: {
    ...id,
    conversationId: req("text"),
    // The tenant, kept equal to the conversation's by trigger and composite foreign key.
    organizationId: req("text"),
    authorId: opt("text"),
    role: req('"MessageRole"'),
    contentJson: req("jsonb"),
    embeddingSpaceId: opt("text"),
    embedding: opt("vector"),
    ...created,
  },
  Dataset: {
    ...id,
    organizationId: req("text"),
    name: req("text"),
    slug: req("text"),
    kind: req('"DatasetKind"'),
    description: opt("text"),
    metadata: opt("jsonb"),
    ...stamps,
  },
  Document: {
    ...id,
    datasetId: req("text"),
    createdById: opt("text"),
    title: req("text"),
    sourceUrl: opt("text"),
    mimeType: opt("text"),
    metadata: opt("jsonb"),
    ...stamps,
  },
  DocumentVersion: {
    ...id,
    documentId: req("text"),
    version: req("integer"),
    content: req("text"),
    checksum: opt("text"),
    createdById: opt("text"),
    ...created,
  },
  Chunk: {
    ...id,
    datasetId: req("text"),
    // The tenant, kept equal to the dataset's by trigger and composite foreign key.
    organizationId: req("text"),
    embeddingSpaceId: req("text"),
    documentId: req("text"),
    idx: req("integer"),
    text: req("text"),
    embedding: opt("vector"),
    metadata: opt("jsonb"),
    // The embedding's sign bits, kept by trigger, for search_chunks()'s prefilter (20261203120000).
    embeddingBits: opt("bit varying"),
    ...created,
  },
  ModelVersion: {
    ...id,
    organizationId: req("text"),
    name: req("text"),
    provider: req("text"),
    baseModel: opt("text"),
    version: req("text"),
    metadata: opt("jsonb"),
    ...stamps,
  },
  TrainingJob: {
    ...id,
    modelVersionId: req("text"),
    datasetId: opt("text"),
    status: req('"TrainStatus"'),
    config: req("jsonb"),
    metrics: opt("jsonb"),
    error: opt("text"),
    startedAt: opt(TS),
    completedAt: opt(TS),
    ...stamps,
  },
  InferenceEndpoint: {
    ...id,
    organizationId: req("text"),
    modelVersionId: opt("text"),
    name: req("text"),
    slug: req("text"),
    url: opt("text"),
    status: req("text"),
    config: opt("jsonb"),
    ...stamps,
  },
  Content: {
    ...id,
    organizationId: req("text"),
    brandId: opt("text"),
    authorId: opt("text"),
    kind: req('"ContentKind"'),
    status: req("text"),
    title: opt("text"),
    body: opt("text"),
    metadata: opt("jsonb"),
    publishedAt: opt(TS),
    ...stamps,
  },
  Campaign: {
    ...id,
    organizationId: req("text"),
    brandId: opt("text"),
    ownerId: opt("text"),
    name: req("text"),
    status: req('"CampaignStatus"'),
    description: opt("text"),
    budget: opt("jsonb"),
    config: opt("jsonb"),
    startsAt: opt(TS),
    endsAt: opt(TS),
    ...stamps,
  },
  CampaignMetric: {
    ...id,
    organizationId: req("text"),
    campaignId: req("text"),
    kind: req("text"),
    value: req("double precision"),
    payload: opt("jsonb"),
    timestamp: req(TS),
    ...created,
  },
  EmailSequence: {
    ...id,
    organizationId: req("text"),
    campaignId: req("text"),
    name: req("text"),
    subject: req("text"),
    body: req("text"),
    variant: opt("text"),
    scheduledFor: opt(TS),
    sentAt: opt(TS),
    metrics: opt("jsonb"),
    ...stamps,
  },
  SocialPost: {
    ...id,
    organizationId: req("text"),
    campaignId: req("text"),
    platform: req("text"),
    content: req("text"),
    mediaUrls: req("text[]"),
    variant: opt("text"),
    scheduledFor: opt(TS),
    publishedAt: opt(TS),
    externalId: opt("text"),
    metrics: opt("jsonb"),
    ...stamps,
  },
  ABTest: {
    ...id,
    organizationId: req("text"),
    campaignId: req("text"),
    name: req("text"),
    variants: req("jsonb"),
    winner: opt("text"),
    metrics: opt("jsonb"),
    startedAt: opt(TS),
    completedAt: opt(TS),
    ...stamps,
  },
  AuditLog: {
    ...id,
    organizationId: opt("text"),
    actorType: req('"AuditActorType"'),
    actorId: opt("text"),
    action: req("text"),
    resourceType: opt("text"),
    resourceId: opt("text"),
    requestHash: opt("text"),
    ip: opt("text"),
    metadata: opt("jsonb"),
    ...created,
  },
};

/** The plan's eight enums with exactly its values, then the audit actor type. */
export const ENUMS: Record<string, string[]> = {
  AgentKind: ["COPILOT", "WORKFLOW", "ANALYST"],
  AgentStatus: ["DRAFT", "ACTIVE", "PAUSED", "DISABLED"],
  MessageRole: ["system", "user", "assistant", "tool"],
  ConversationKind: ["support", "campaign", "planning", "ad_hoc"],
  DatasetKind: ["documents", "faq", "analytics"],
  TrainStatus: ["queued", "running", "completed", "failed", "cancelled"],
  ContentKind: ["article", "email", "social_script", "ad_copy"],
  CampaignStatus: ["draft", "scheduled", "active", "paused", "completed", "archived"],
  AuditActorType: ["user", "api_key", "agent", "system"],
};

/** The default of "createdAt", "updatedAt" and other moments of insertion: UTC, as Prisma reads timestamp(3). */
export const UTC_NOW = "timezone('UTC'::text, now())";
/** The default of every "id" column, for writes that bypass Prisma's cuid(). */
export const ID_DEFAULT = "(gen_random_uuid())::text";

/** Column defaults besides "id", "createdAt" and "updatedAt", in pg_get_expr() spelling. */
export const DEFAULTS: Record<string, Record<string, string>> = {
  Organization: { plan: "'starter'::text" },
  OrganizationMembership: { status: "'active'::text", joinedAt: UTC_NOW },
  ApiKey: { scopes: "ARRAY[]::text[]" },
  Agent: { status: "'DRAFT'::\"AgentStatus\"" },
  AgentRun: { status: "'queued'::text", input: "'{}'::jsonb", startedAt: UTC_NOW },
  ToolExecution: { status: "'queued'::text" },
  Conversation: { kind: "'ad_hoc'::\"ConversationKind\"" },
  TrainingJob: { status: "'queued'::\"TrainStatus\"", config: "'{}'::jsonb" },
  InferenceEndpoint: { status: "'inactive'::text" },
  Content: { status: "'draft'::text" },
  Campaign: { status: "'draft'::\"CampaignStatus\"" },
  CampaignMetric: { timestamp: UTC_NOW },
  // The tenant column: optional for clients that build inserts from the schema; the trigger sets it.
  Chunk: { organizationId: "current_organization_id()" },
  Message: { organizationId: "current_organization_id()" },
  SocialPost: { mediaUrls: "ARRAY[]::text[]" },
};

type OnDelete = "CASCADE" | "SET NULL";
/** [table, columns, referenced table, referenced columns, ON DELETE]; the name is Prisma's `<table>_<columns>_fkey`. */
type ForeignKey = [string, string[], string, string[], OnDelete];

export const FOREIGN_KEYS: ForeignKey[] = [
  ["OrganizationRole", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["OrganizationPermission", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["RolePermission", ["roleId"], "OrganizationRole", ["id"], "CASCADE"],
  ["RolePermission", ["permissionId"], "OrganizationPermission", ["id"], "CASCADE"],
  ["OrganizationMembership", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["OrganizationMembership", ["userId"], "User", ["id"], "CASCADE"],
  ["OrganizationMembership", ["roleId"], "OrganizationRole", ["id"], "SET NULL"],
  ["OrganizationMembership", ["invitedById"], "User", ["id"], "SET NULL"],
  ["ApiKey", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["ApiKey", ["createdById"], "User", ["id"], "SET NULL"],
  ["Brand", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["BrandVoice", ["brandId"], "Brand", ["id"], "CASCADE"],
  ["BrandVoice", ["embeddingSpaceId"], "EmbeddingSpace", ["id"], "CASCADE"],
  ["BrandAsset", ["brandId"], "Brand", ["id"], "CASCADE"],
  ["Agent", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["AgentConfig", ["agentId"], "Agent", ["id"], "CASCADE"],
  ["AgentCapability", ["agentId"], "Agent", ["id"], "CASCADE"],
  ["Tool", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["AgentRun", ["agentId"], "Agent", ["id"], "CASCADE"],
  ["AgentRun", ["triggeredById"], "User", ["id"], "SET NULL"],
  ["ToolExecution", ["toolId"], "Tool", ["id"], "CASCADE"],
  ["ToolExecution", ["agentRunId"], "AgentRun", ["id"], "CASCADE"],
  ["AgentRunMetric", ["agentRunId"], "AgentRun", ["id"], "CASCADE"],
  ["Conversation", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["Conversation", ["createdById"], "User", ["id"], "SET NULL"],
  ["Conversation", ["agentId"], "Agent", ["id"], "SET NULL"],
  ["Message", ["conversationId"], "Conversation", ["id"], "CASCADE"],
  ["Message", ["authorId"], "User", ["id"], "SET NULL"],
  ["Message", ["embeddingSpaceId"], "EmbeddingSpace", ["id"], "SET NULL"],
  ["Message", ["conversationId", "organizationId"], "Conversation", ["id", "organizationId"], "CASCADE"],
  ["Dataset", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["Document", ["datasetId"], "Dataset", ["id"], "CASCADE"],
  ["Document", ["createdById"], "User", ["id"], "SET NULL"],
  ["DocumentVersion", ["documentId"], "Document", ["id"], "CASCADE"],
  ["DocumentVersion", ["createdById"], "User", ["id"], "SET NULL"],
  ["Chunk", ["datasetId"], "Dataset", ["id"], "CASCADE"],
  ["Chunk", ["embeddingSpaceId"], "EmbeddingSpace", ["id"], "CASCADE"],
  ["Chunk", ["datasetId", "documentId"], "Document", ["datasetId", "id"], "CASCADE"],
  ["Chunk", ["datasetId", "organizationId"], "Dataset", ["id", "organizationId"], "CASCADE"],
  ["ModelVersion", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["TrainingJob", ["modelVersionId"], "ModelVersion", ["id"], "CASCADE"],
  ["TrainingJob", ["datasetId"], "Dataset", ["id"], "SET NULL"],
  ["InferenceEndpoint", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["InferenceEndpoint", ["modelVersionId"], "ModelVersion", ["id"], "SET NULL"],
  ["Content", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["Content", ["brandId"], "Brand", ["id"], "SET NULL"],
  ["Content", ["authorId"], "User", ["id"], "SET NULL"],
  ["Campaign", ["organizationId"], "Organization", ["id"], "CASCADE"],
  ["Campaign", ["brandId"], "Brand", ["id"], "SET NULL"],
  ["Campaign", ["ownerId"], "User", ["id"], "SET NULL"],
  ["CampaignMetric", ["campaignId", "organizationId"], "Campaign", ["id", "organizationId"], "CASCADE"],
  ["EmailSequence", ["campaignId", "organizationId"], "Campaign", ["id", "organizationId"], "CASCADE"],
  ["SocialPost", ["campaignId", "organizationId"], "Campaign", ["id", "organizationId"], "CASCADE"],
  ["ABTest", ["campaignId", "organizationId"], "Campaign", ["id", "organizationId"], "CASCADE"],
  ["AuditLog", ["organizationId"], "Organization", ["id"], "SET NULL"],
];

/** Every index, primary keys included: name → "[UNIQUE ]<table> <method> (<keys>)" as pg_get_indexdef() prints keys. */
export const INDEXES: Record<string, string> = {
  // The hot-path indexes, under the app's names.
  idx_agent_run_started: 'AgentRun btree ("agentId", "startedAt" DESC)',
  idx_campaign_metric_ts: 'CampaignMetric btree ("campaignId", kind, "timestamp")',
  idx_api_key_token_hash: 'UNIQUE ApiKey btree ("organizationId", "tokenHash")',
  idx_conversation_org_created: 'Conversation btree ("organizationId", "createdAt" DESC)',
  // The plan's uniques and composite indexes.
  Organization_slug_key: "UNIQUE Organization btree (slug)",
  OrganizationMembership_organizationId_userId_key:
    'UNIQUE OrganizationMembership btree ("organizationId", "userId")',
  Message_conversationId_createdAt_idx: 'Message btree ("conversationId", "createdAt")',
  Message_role_createdAt_idx: 'Message btree (role, "createdAt")',
  Chunk_embeddingSpaceId_idx: 'Chunk btree ("embeddingSpaceId")',
  // Fix: a chunk's idx is unique within its document (the draft's ("datasetId", idx) refused a second document).
  Chunk_documentId_idx_key: 'UNIQUE Chunk btree ("documentId", idx)',
  // Natural keys.
  User_email_key: "UNIQUE User btree (email)",
  OrganizationRole_organizationId_slug_key: 'UNIQUE OrganizationRole btree ("organizationId", slug)',
  OrganizationPermission_organizationId_key_key:
    'UNIQUE OrganizationPermission btree ("organizationId", key)',
  ApiKey_tokenHash_key: 'UNIQUE ApiKey btree ("tokenHash")',
  EmbeddingSpace_provider_model_dimension_key: "UNIQUE EmbeddingSpace btree (provider, model, dimension)",
  Brand_organizationId_slug_key: 'UNIQUE Brand btree ("organizationId", slug)',
  Agent_organizationId_slug_key: 'UNIQUE Agent btree ("organizationId", slug)',
  AgentConfig_agentId_key_key: 'UNIQUE AgentConfig btree ("agentId", key)',
  AgentCapability_agentId_name_key: 'UNIQUE AgentCapability btree ("agentId", name)',
  Tool_organizationId_slug_key: 'UNIQUE Tool btree ("organizationId", slug)',
  Dataset_organizationId_slug_key: 'UNIQUE Dataset btree ("organizationId", slug)',
  DocumentVersion_documentId_version_key: 'UNIQUE DocumentVersion btree ("documentId", version)',
  ModelVersion_organizationId_name_version_key: 'UNIQUE ModelVersion btree ("organizationId", name, version)',
  InferenceEndpoint_organizationId_slug_key: 'UNIQUE InferenceEndpoint btree ("organizationId", slug)',
  // Targets of composite foreign keys.
  Document_datasetId_id_key: 'UNIQUE Document btree ("datasetId", id)',
  Campaign_id_organizationId_key: 'UNIQUE Campaign btree (id, "organizationId")',
  Dataset_id_organizationId_key: 'UNIQUE Dataset btree (id, "organizationId")',
  Conversation_id_organizationId_key: 'UNIQUE Conversation btree (id, "organizationId")',
  // The tenant filter of vector search (search_chunks / search_messages) and of the policies.
  Chunk_organizationId_embeddingSpaceId_idx: 'Chunk btree ("organizationId", "embeddingSpaceId")',
  Chunk_organizationId_datasetId_idx: 'Chunk btree ("organizationId", "datasetId")',
  Message_organizationId_embeddingSpaceId_idx: 'Message btree ("organizationId", "embeddingSpaceId")',
  Message_organizationId_conversationId_idx: 'Message btree ("organizationId", "conversationId")',
  // Query paths.
  Campaign_organizationId_status_idx: 'Campaign btree ("organizationId", status)',
  Content_organizationId_kind_createdAt_idx: 'Content btree ("organizationId", kind, "createdAt")',
  ToolExecution_toolId_createdAt_idx: 'ToolExecution btree ("toolId", "createdAt")',
  AgentRunMetric_agentRunId_name_idx: 'AgentRunMetric btree ("agentRunId", name)',
  TrainingJob_status_createdAt_idx: 'TrainingJob btree (status, "createdAt")',
  EmailSequence_campaignId_scheduledFor_idx: 'EmailSequence btree ("campaignId", "scheduledFor")',
  SocialPost_campaignId_platform_scheduledFor_idx:
    'SocialPost btree ("campaignId", platform, "scheduledFor")',
  AuditLog_organizationId_createdAt_idx: 'AuditLog btree ("organizationId", "createdAt")',
  AuditLog_actorType_actorId_createdAt_idx: 'AuditLog btree ("actorType", "actorId", "createdAt")',
  AuditLog_resourceType_resourceId_idx: 'AuditLog btree ("resourceType", "resourceId")',
  AuditLog_requestHash_idx: 'AuditLog btree ("requestHash")',
  // Foreign-key columns no other index leads with (so deleting a parent does not scan the child).
  RolePermission_permissionId_idx: 'RolePermission btree ("permissionId")',
  OrganizationMembership_userId_idx: 'OrganizationMembership btree ("userId")',
  OrganizationMembership_roleId_idx: 'OrganizationMembership btree ("roleId")',
  OrganizationMembership_invitedById_idx: 'OrganizationMembership btree ("invitedById")',
  ApiKey_createdById_idx: 'ApiKey btree ("createdById")',
  BrandVoice_brandId_idx: 'BrandVoice btree ("brandId")',
  BrandVoice_embeddingSpaceId_idx: 'BrandVoice btree ("embeddingSpaceId")',
  BrandAsset_brandId_idx: 'BrandAsset btree ("brandId")',
  AgentRun_triggeredById_idx: 'AgentRun btree ("triggeredById")',
  ToolExecution_agentRunId_idx: 'ToolExecution btree ("agentRunId")',
  Conversation_createdById_idx: 'Conversation btree ("createdById")',
  Conversation_agentId_idx: 'Conversation btree ("agentId")',
  Message_authorId_idx: 'Message btree ("authorId")',
  Message_embeddingSpaceId_idx: 'Message btree ("embeddingSpaceId")',
  Document_createdById_idx: 'Document btree ("createdById")',
  DocumentVersion_createdById_idx: 'DocumentVersion btree ("createdById")',
  Chunk_datasetId_documentId_idx: 'Chunk btree ("datasetId", "documentId")',
  TrainingJob_modelVersionId_idx: 'TrainingJob btree ("modelVersionId")',
  TrainingJob_datasetId_idx: 'TrainingJob btree ("datasetId")',
  InferenceEndpoint_modelVersionId_idx: 'InferenceEndpoint btree ("modelVersionId")',
  Content_brandId_idx: 'Content btree ("brandId")',
  Content_authorId_idx: 'Content btree ("authorId")',
  Campaign_brandId_idx: 'Campaign btree ("brandId")',
  Campaign_ownerId_idx: 'Campaign btree ("ownerId")',
  CampaignMetric_organizationId_idx: 'CampaignMetric btree ("organizationId")',
  EmailSequence_organizationId_idx: 'EmailSequence btree ("organizationId")',
  SocialPost_organizationId_idx: 'SocialPost btree ("organizationId")',
  ABTest_campaignId_idx: 'ABTest btree ("campaignId")',
  ABTest_organizationId_idx: 'ABTest btree ("organizationId")',
  // Primary keys.
  ...Object.fromEntries(
    Object.keys(TABLES).map((table) => [
      `${table}_pkey`,
      table === "RolePermission"
        ? 'UNIQUE RolePermission btree ("roleId", "permissionId")'
        : `UNIQUE ${table} btree (id)`,
    ]),
  ),
};

/** CHECK constraints: name → pg_get_constraintdef(). */
export const CHECKS: Record<string, string> = {
  EmbeddingSpace_dimension_check: "CHECK (((dimension >= 1) AND (dimension <= 4000)))",
  Message_embedding_space_check: 'CHECK (((embedding IS NULL) OR ("embeddingSpaceId" IS NOT NULL)))',
  DocumentVersion_version_check: "CHECK ((version >= 1))",
  Chunk_idx_check: "CHECK ((idx >= 0))",
  // Secrets are stored as SHA-256 hex digests only.
  ApiKey_tokenHash_check: `CHECK (("tokenHash" ~ '^[0-9a-f]{64}$'::text))`,
  AuditLog_requestHash_check: `CHECK (("requestHash" ~ '^[0-9a-f]{64}$'::text))`,
};

/** Tables whose embedding must match the dimension of its embedding space. */
export const EMBEDDING_TABLES = ["BrandVoice", "Message", "Chunk"];

/** Triggers besides "updatedAt" and the embedding checks, as pg_get_triggerdef() prints them. */
export const OTHER_TRIGGERS: Record<string, string> = {
  // Append-only for every role but the owner: a statement trigger, so even an UPDATE matching no row fails.
  "AuditLog.audit_log_append_only":
    'CREATE TRIGGER audit_log_append_only BEFORE DELETE OR UPDATE ON public."AuditLog" FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()',
  // Global, shared by every organization: changed by the owner only (20261206010000).
  "EmbeddingSpace.embedding_space_owner_only":
    'CREATE TRIGGER embedding_space_owner_only BEFORE INSERT OR DELETE OR UPDATE ON public."EmbeddingSpace" FOR EACH STATEMENT EXECUTE FUNCTION embedding_space_owner_only()',
};

/** The functions of schema public, besides the extensions'. */
export const FUNCTIONS = [
  "check_embedding_dimension",
  "chunk_embedding_bits", // keeps "Chunk"."embeddingBits" (20261203120000)
  "keep_embedding_space_dimension",
  "set_updated_at",
  // Row-level security: the organization and the user of the transaction, and the lookups made before
  // either is known (SECURITY DEFINER).
  "current_organization_id",
  "current_app_user_id",
  "organization_id_for_slug",
  "organization_id_for_token_hash",
  "organizations_of_user",
  "user_id_for_email",
  // "AuditLog" is append-only; "EmbeddingSpace" is the owner's to change.
  "audit_log_append_only",
  "embedding_space_owner_only",
  // The tenant column of the embedded tables, filled from the parent.
  "chunk_organization_id",
  "message_organization_id",
  // Vector search (docs/search.md): the entry points and their helpers.
  "search_check_filters", // a dataset, document or conversation the caller cannot see, named (20261205080100)
  "search_check_k",
  "search_count_index_valid", // whether the count index is keyed by the tenant (20261205030000)
  "search_chunks",
  "search_chunks", // the query as text: a bad component named (20261202060100)
  "search_index_settings",
  "search_messages",
  "search_messages", // the query as text
  "search_query_spaces",
  "search_query_vector",
  "search_prefilter_entries", // the calibrated prefilter depths (20261203120000)
  "search_prefilter_graphs", // the largest tenants' graphs over their sign bits (20261203180000)
  "search_settings", // one lookup of the tuning and the tenant's entry (20261203030000)
  "search_tenant_index",
  "search_tenant_indexes",
  "search_tuning",
  "search_tuning_entries",
];

/**
 * Trigger functions, and SECURITY INVOKER functions whose result is a security or integrity check, run with the
 * caller's search_path, where the session's temporary schema (pg_temp) comes first for relations and types: an
 * app's temporary "pg_class" or "EmbeddingSpace" would otherwise be what they read (migration
 * 20261206020000_trigger_functions_search_path.sql). Each has a search_path of its own that names pg_temp last,
 * or is in QUALIFIED_FUNCTIONS.
 */
export const CHECK_FUNCTIONS = ["search_check_filters"];

/**
 * The trigger and check functions with no search_path of their own (a function-level SET costs every call, and
 * these run per row of a bulk load or per search): every relation and type they name is schema-qualified
 * (PostgreSQL never looks up functions or operators in pg_temp). function → why it has no SET.
 */
export const QUALIFIED_FUNCTIONS: Record<string, string> = {
  check_embedding_dimension: "per row of every embedded table (load-chunks' COPY)",
  chunk_organization_id: 'per row of "Chunk" (load-chunks\' COPY)',
  chunk_embedding_bits: 'per row of "Chunk" (load-chunks\' COPY)',
  message_organization_id: 'per row of "Message"',
  set_updated_at: "per row of most tables; names no relation and no type",
  search_check_filters: "once per search, inside search_chunks() / search_messages()",
};
