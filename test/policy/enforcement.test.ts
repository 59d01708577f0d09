import { describe, expect, it } from "vitest";
import { enforcementLevelForStack, stackFromEnvironment } from "../../policy/enforcement";

describe("enforcementLevelForStack", () => {
  it("blocks on prod and reports only on dev and local", () => {
    expect(enforcementLevelForStack("prod")).toBe("mandatory");
    expect(enforcementLevelForStack("dev")).toBe("advisory");
    expect(enforcementLevelForStack("local")).toBe("advisory");
  });

  it("reads fully qualified stack names", () => {
    expect(enforcementLevelForStack("acme/neonhub-db/prod")).toBe("mandatory");
    expect(enforcementLevelForStack("acme/neonhub-db/dev")).toBe("advisory");
  });

  it("treats an unknown stack, or none, as production", () => {
    expect(enforcementLevelForStack("prod-eu")).toBe("mandatory");
    expect(enforcementLevelForStack("develop")).toBe("mandatory");
    expect(enforcementLevelForStack(undefined)).toBe("mandatory");
  });
});

describe("stackFromEnvironment", () => {
  it("takes the stack the CLI passes to the pack", () => {
    expect(stackFromEnvironment({ PULUMI_STACK: "dev" })).toBe("dev");
    expect(stackFromEnvironment({ PULUMI_NODEJS_STACK: "prod" })).toBe("prod");
    expect(stackFromEnvironment({ PULUMI_STACK: "", PULUMI_NODEJS_STACK: "" })).toBeUndefined();
    expect(stackFromEnvironment({})).toBeUndefined();
  });
});
