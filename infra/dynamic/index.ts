// The schema release's dynamic resources: migrations ─► seed sets ─► vector indexes (see schema-release.ts).
export * from "./part-args";
export * from "./part-resource";
export * from "./schema-migrations";
export * from "./seed-sets";
export * from "./types";
export * from "./vector-indexes";
