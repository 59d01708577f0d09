// PostgreSQL connection strings (libpq URI form, what Prisma's DATABASE_URL/DIRECT_URL expect).

export interface ConnectionParts {
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
  /** Added as `?sslmode=` when set; left out so the client's default applies. */
  sslmode?: string;
}

/** `postgresql://user:password@host:port/database[?sslmode=...]`, every part percent-encoded. */
export function connectionString({ user, password, host, port, database, sslmode }: ConnectionParts): string {
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const query = sslmode ? `?sslmode=${encodeURIComponent(sslmode)}` : "";
  const credentials = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `postgresql://${credentials}@${hostPart}:${port}/${encodeURIComponent(database)}${query}`;
}
