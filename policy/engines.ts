// The RDS engines that run PostgreSQL: RDS for PostgreSQL (instances and Multi-AZ DB clusters) and Aurora.

export type PostgresEngine = "postgres" | "aurora-postgresql";

export function isPostgresEngine(engine: unknown): engine is PostgresEngine {
  return engine === "postgres" || engine === "aurora-postgresql";
}
