// The --owner-role a fix or a printed command names, written in one place: PostgreSQL takes any character in
// a quoted role name ("Neon Owner", o'brien, $owner), and one pasted bare into a shell breaks the command or
// names another role. The value is one word as a POSIX shell reads it back (shellWord: a plain name such as
// neonhub_owner stays bare), and as the CLI's parser reads it back: a value that starts with "-" is joined to
// the flag, which node's parseArgs would otherwise refuse as a flag where the value should be (cli/args.ts).
import { shellWord } from "./shell-word";

/** `--owner-role <role>`, `role` one shell word; `--owner-role=<role>` for a role whose name starts with "-". */
export function ownerRoleFlag(role: string): string {
  const word = shellWord(role);
  return role.startsWith("-") ? `--owner-role=${word}` : `--owner-role ${word}`;
}
