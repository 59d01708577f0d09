// The --owner-role a fix or a printed command names, written in one place: PostgreSQL takes any character in
// a quoted role name ("Neon Owner", o'brien, $owner), and one pasted bare into a shell breaks the command or
// names another role. The value is one word as a POSIX shell reads it back (shellWord: a plain name such as
// neonhub_owner stays bare), and as the CLI's parser reads it back (flagWithValue).
import { flagWithValue } from "./shell-word";

/** `--owner-role <role>`, `role` one shell word; `--owner-role=<role>` for a role whose name starts with "-". */
export function ownerRoleFlag(role: string): string {
  return flagWithValue("--owner-role", role);
}
