// The PostgreSQL major an RDS or Aurora stack runs, in one place: the parameter groups are of its family
// (postgres16, aurora-postgresql16), so neonhub-db:engineVersion must name it.
export const POSTGRES_MAJOR = "16";

export type RdsEngine = "postgres" | "aurora-postgresql";

/** The parameter group family of `engine` at the major this program runs. */
export function parameterGroupFamily(engine: RdsEngine): string {
  return `${engine}${POSTGRES_MAJOR}`;
}

/**
 * The AWS CLI command that lists the versions `engine` offers at the major: which minors exist changes with
 * AWS's releases and differs between RDS and Aurora, so only AWS can say.
 */
export function listVersionsCommand(engine: RdsEngine): string {
  return `aws rds describe-db-engine-versions --engine ${engine} --engine-version ${POSTGRES_MAJOR} --query 'DBEngineVersions[].EngineVersion'`;
}
