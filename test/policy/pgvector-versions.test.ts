import { describe, expect, it } from "vitest";
import { pgvectorVersionProblem } from "../../policy/pgvector-versions";

describe("pgvectorVersionProblem", () => {
  it.each([
    ["postgres", "16.4"],
    ["postgres", "17.2"],
    ["postgres", "16"],
    ["postgres", "15.2"],
    ["postgres", "15.10"],
    ["postgres", "14.8"],
    ["postgres", "13.11"],
    ["postgres", "12.15"],
    ["postgres", "12.22-rds.20250220"],
    ["postgres", undefined],
    ["aurora-postgresql", "15.3"],
    ["aurora-postgresql", "14.8"],
    ["aurora-postgresql", "16.1"],
  ] as const)("%s %s has pgvector", (engine, version) => {
    expect(pgvectorVersionProblem(engine, version)).toBeUndefined();
  });

  it.each([
    ["postgres", "15.1", "postgres 15.1 has no pgvector; it arrived in 15.2"],
    ["postgres", "14.7", "postgres 14.7 has no pgvector; it arrived in 14.8"],
    ["aurora-postgresql", "15.2", "aurora-postgresql 15.2 has no pgvector; it arrived in 15.3"],
    ["aurora-postgresql", "12.14", "aurora-postgresql 12.14 has no pgvector; it arrived in 12.15"],
    ["postgres", "11.22", "postgres 11 has no pgvector; use postgres 16 or later"],
    ["postgres", "10", "postgres 10 has no pgvector; use postgres 16 or later"],
    ["postgres", "latest", 'engine version "latest" is not a PostgreSQL version'],
  ] as const)("%s %s has none", (engine, version, problem) => {
    expect(pgvectorVersionProblem(engine, version)).toBe(problem);
  });

  it("reads the minor as a number, not as text (15.10 is after 15.2)", () => {
    expect(pgvectorVersionProblem("postgres", "15.10")).toBeUndefined();
    expect(pgvectorVersionProblem("aurora-postgresql", "13.9")).toContain("arrived in 13.11");
  });
});
