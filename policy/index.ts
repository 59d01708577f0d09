// The policy pack's entry point, run by the Pulumi CLI: `pulumi preview --policy-pack policy`.
// Wiring only: the policies live in rules/, the enforcement level follows the stack (enforcement.ts).
import * as path from "node:path";
import { PolicyPack } from "@pulumi/policy";
import { enforcementLevelForStack, stackFromEnvironment } from "./enforcement";
import { plainConfigFromProject } from "./plain-config";
import { neonhubPolicies } from "./policies";

// The pack lives in the project it guards: the stack files are one folder up.
const projectDir = path.resolve(__dirname, "..");

new PolicyPack("neonhub-db", {
  description: "Guardrails for the NeonHub database on AWS RDS and Aurora.",
  enforcementLevel: enforcementLevelForStack(stackFromEnvironment(process.env)),
  policies: neonhubPolicies({ projectDir, plainConfig: plainConfigFromProject(projectDir) }),
});
