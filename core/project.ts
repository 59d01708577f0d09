// Where the release's inputs live in this repository.
import path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const DEFAULT_MIGRATIONS_DIR = path.join(PROJECT_ROOT, "migrations");
export const DEFAULT_SEEDS_DIR = path.join(PROJECT_ROOT, "seeds");
