// PostgreSQL reports an error's position in characters of the statement; JavaScript strings index UTF-16
// code units. Every character outside the Basic Multilingual Plane (an emoji) is one character to the server
// and two units here: without this conversion a caret lands one column off per such character, and
// node-pg-migrate's own error formatting computes a negative padding and throws `Invalid count value: -1`,
// losing the server's message.
import type { ClientBase, QueryResult } from "pg";

/** The 1-based UTF-16 position of the 1-based character position `position` in `text`. */
export function utf16Position(text: string, position: number): number {
  let units = 0;
  let characters = 0;
  for (const character of text) {
    if (characters === position - 1) break;
    units += character.length;
    characters += 1;
  }
  return units + 1;
}

interface PositionedError {
  position?: string;
}

/**
 * A client for node-pg-migrate (it needs only `query`) whose errors carry UTF-16 positions. The original
 * client does the work; its errors are the server's, with `position` converted in place.
 */
export function withUtf16Positions(client: Pick<ClientBase, "query">): Pick<ClientBase, "query"> {
  const query = async (config: unknown, values?: unknown): Promise<QueryResult> => {
    try {
      return await (client.query as (c: unknown, v?: unknown) => Promise<QueryResult>)(config, values);
    } catch (error) {
      const text = typeof config === "string" ? config : (config as { text?: unknown } | null)?.text;
      const positioned = error as PositionedError | null;
      const position = Number(positioned?.position);
      if (positioned && typeof text === "string" && Number.isInteger(position) && position > 0) {
        positioned.position = String(utf16Position(text, position));
      }
      throw error;
    }
  };
  return { query } as Pick<ClientBase, "query">;
}
