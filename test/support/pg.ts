// A real PostgreSQL for tests that need one of their own (a scratch database), in both suite passes: on the server
// of TEST_DATABASE_URL when it is set, else on postgres://postgres@127.0.0.1:5432 (MULTI_INSTANCE_PG_ADMIN_URL
// overrides). Under CI=true an unreachable server is an error, never a silent skip.
import postgres from 'postgres';

export function pgAdminUrl(): string {
  if (process.env.MULTI_INSTANCE_PG_ADMIN_URL) return process.env.MULTI_INSTANCE_PG_ADMIN_URL;
  if (process.env.TEST_DATABASE_URL) {
    const u = new URL(process.env.TEST_DATABASE_URL);
    u.pathname = '/postgres';
    return u.toString();
  }
  return 'postgres://postgres@127.0.0.1:5432/postgres';
}

export async function postgresReachable(adminUrl = pgAdminUrl()): Promise<boolean> {
  const sql = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** Creates an empty database named after `tag`; returns its URL and a function that drops it. */
export async function scratchDatabase(tag: string, adminUrl = pgAdminUrl()): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `aigc_${tag}_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 1 }).catch(() => {});
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end({ timeout: 1 }).catch(() => {});
      }
    },
  };
}
