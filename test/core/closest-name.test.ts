// The "did you mean" of a mistyped name: the nearest candidate when it is a typo's distance away, and none when
// every candidate is another name altogether.
import { describe, expect, it } from "vitest";
import { closestName } from "../../core";

const MIGRATIONS = ["20261202030000_tenant_column_on_embedded_tables", "20261202030100_search_functions"];

describe("closestName", () => {
  it("names the candidate a typo came from", () => {
    expect(closestName("20261202030100_search_function", MIGRATIONS)).toBe("20261202030100_search_functions");
    expect(closestName("20261202030000_tenant_colum_on_embedded_tables", MIGRATIONS)).toBe(MIGRATIONS[0]);
  });

  it("names none when nothing is near", () => {
    expect(closestName("nope", MIGRATIONS)).toBeUndefined();
    expect(closestName("20270101000000_something_else", MIGRATIONS)).toBeUndefined();
    expect(closestName("x", [])).toBeUndefined();
  });
});
