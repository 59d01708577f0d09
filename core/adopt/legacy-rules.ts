// How legacy (Prisma-era) values map onto the release's enums: one place, used by the inspection (and by
// the upgrade that will move the data). Matching is on the trimmed, lower-cased text.
import { literal } from "../sql";
export const MESSAGE_ROLE_ALIASES: Readonly<Record<string, string>> = {
  system: "system",
  user: "user",
  human: "user",
  assistant: "assistant",
  ai: "assistant",
  bot: "assistant",
  tool: "tool",
  function: "tool",
};

export const CAMPAIGN_STATUSES = ["draft", "scheduled", "active", "paused", "completed", "archived"] as const;

/** SQL list literal of the keys, for `lower(btrim(x)) NOT IN (...)`. */
export function sqlList(values: readonly string[]): string {
  return values.map(literal).join(", ");
}
