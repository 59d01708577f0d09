// Two logins made by hand beside a released database's access roles, for the tests of commands that act as the
// owner role (--owner-role): a deploy login that is a member of the owner role without inheriting its
// privileges (CREATE ROLE ... NOINHERIT: it may SET ROLE to it, but as itself may not read the release's
// records), and a login of the cluster that is no member of it. Made before the describe's tests, dropped after.
import { afterAll, beforeAll } from "vitest";
import { quoteIdentifier as ident } from "../../core";
import type { ReleasedDatabase } from "../security/released-database";
import { withClient } from "./database";

export interface DeployLogins {
  deployer(): string;
  stranger(): string;
  /** The database's URL as `login`, with the access roles' password. */
  urlOf(login: string): string;
}

export function useDeployLogins(target: { readonly current: ReleasedDatabase }): DeployLogins {
  const deployer = () => `${target.current.db.name}_deployer`;
  const stranger = () => `${target.current.db.name}_stranger`;
  const urlOf = (login: string) => {
    const url = new URL(target.current.roles.url("migrator"));
    url.username = login;
    return url.toString();
  };

  beforeAll(async () => {
    const { db, roles } = target.current;
    await withClient(db.url, async (c) => {
      const password = `'${roles.password}'`;
      await c.query(`CREATE ROLE ${ident(deployer())} LOGIN NOINHERIT PASSWORD ${password}`);
      await c.query(`GRANT ${ident(roles.names.owner)} TO ${ident(deployer())}`);
      await c.query(`CREATE ROLE ${ident(stranger())} LOGIN PASSWORD ${password}`);
      for (const login of [deployer(), stranger()]) {
        await c.query(`GRANT CONNECT ON DATABASE ${ident(db.name)} TO ${ident(login)}`);
      }
    });
  });
  afterAll(async () => {
    const { db } = target.current;
    await withClient(db.url, async (c) => {
      for (const login of [deployer(), stranger()]) {
        await c.query(`DROP OWNED BY ${ident(login)}`);
        await c.query(`DROP ROLE ${ident(login)}`);
      }
    });
  });

  return { deployer, stranger, urlOf };
}
