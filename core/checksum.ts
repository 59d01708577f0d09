import { createHash } from "node:crypto";

/** sha256 hex of bytes or text: the identity of a migration file or a seed set's content. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
