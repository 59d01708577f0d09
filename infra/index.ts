// The program's building blocks; index.ts at the project root wires them per stack.
export * from "./access";
export * from "./alarms";
export * from "./app-secret";
export * from "./config";
export * from "./connection-string";
export * from "./servers";
export * from "./tuning";
