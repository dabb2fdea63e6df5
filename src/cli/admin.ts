// The admin socket: DATA_DIR/admin.sock, a unix socket (mode 0600) on which the process that has the embedded
// database open answers HTTP. PGlite is one process's, so `backup`/`migrate` run on the same machine ask the
// serving process through it instead of opening the data dir a second time; and every process that opens the
// embedded database (the server, or an offline backup/restore/migrate) holds it, so that a second one can tell
// that the data dir is in use. Only the socket's owner (and root) may connect: that is the authentication.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger';

export const ADMIN_SOCKET = 'admin.sock';
/** sun_path is 108 bytes on Linux, 104 on macOS: longer paths cannot be bound. */
const MAX_SOCKET_PATH = 100;

export const adminSocketPath = (dataDir: string) => join(dataDir, ADMIN_SOCKET);

/** What the holder of the socket answers on GET /status. */
export interface AdminStatus {
  pid: number;
  /** serve, or the offline command that holds the data dir */
  role: string;
  version: string;
}

export interface AdminHandlers {
  /** POST /backup: the backup archive as a stream */
  backup?: () => Promise<ReadableStream<Uint8Array>>;
  /** POST /migrate: the tags applied */
  migrate?: () => Promise<string[]>;
}

/** Sends one request to the socket's holder; null when nobody listens (no socket file, or a stale one). */
export async function askAdmin(dataDir: string, path: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<Response | null> {
  const unix = adminSocketPath(dataDir);
  if (!existsSync(unix)) return null;
  try {
    return await fetch(`http://admin${path}`, { ...init, unix, signal: AbortSignal.timeout(timeoutMs) } as RequestInit);
  } catch (e) {
    const code = (e as { code?: string }).code;
    // a socket file left behind by a killed process refuses connections
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'FailedToOpenSocket' || code === 'ConnectionRefused') return null;
    throw e;
  }
}

/** The status of the process holding the data dir, or null when none does. */
export async function dataDirHolder(dataDir: string): Promise<AdminStatus | null> {
  const res = await askAdmin(dataDir, '/status', {}, 3_000).catch(() => null);
  if (!res?.ok) return null;
  return (await res.json()) as AdminStatus;
}

/** The line that says who holds the data dir. */
export const holderLine = (dataDir: string, h: AdminStatus) =>
  h.role === 'serve'
    ? `a server (pid ${h.pid}) is using DATA_DIR=${dataDir}`
    : `another process (pid ${h.pid}, running "${h.role}") is using DATA_DIR=${dataDir}`;

/**
 * Listens on DATA_DIR/admin.sock as `role`, after checking that no other process holds it (throws with a line
 * saying who does). A socket file that nobody answers on is left over from a killed process and is replaced.
 * Returns the stop function (it removes the socket file). A data dir whose path is too long for a unix socket
 * gets no socket: a warning says so, and the process goes on without one.
 */
export async function holdDataDir(
  dataDir: string,
  role: string,
  version: string,
  handlers: AdminHandlers = {},
  log?: Logger,
): Promise<() => void> {
  const holder = await dataDirHolder(dataDir);
  if (holder) throw new DataDirBusy(holderLine(dataDir, holder));
  const unix = adminSocketPath(dataDir);
  if (unix.length > MAX_SOCKET_PATH) {
    log?.warn(`DATA_DIR path too long for the admin socket (${unix}): backup while serving is unavailable`);
    return () => {};
  }
  rmSync(unix, { force: true });
  const status: AdminStatus = { pid: process.pid, role, version };
  // umask 077 while binding: the socket is never connectable by others, not even between bind and chmod
  const umask = process.umask(0o077);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ unix, fetch: (req) => answer(req, status, handlers, log) });
  } catch (e) {
    // some mounted file systems (a host folder in Docker Desktop, say) cannot hold a socket: go on without one
    log?.warn(`cannot listen on ${unix} (${(e as Error).message}): backup while serving is unavailable`);
    return () => {};
  } finally {
    process.umask(umask);
  }
  chmodSync(unix, 0o600);
  return () => {
    void server.stop(true);
    rmSync(unix, { force: true });
  };
}

/** Another process holds the data dir. */
export class DataDirBusy extends Error {}

async function answer(req: Request, status: AdminStatus, handlers: AdminHandlers, log?: Logger): Promise<Response> {
  const { pathname } = new URL(req.url);
  try {
    if (req.method === 'GET' && pathname === '/status') return Response.json(status);
    if (req.method === 'POST' && pathname === '/backup' && handlers.backup) {
      log?.info('admin: backup requested');
      return new Response(await handlers.backup(), { headers: { 'content-type': 'application/x-tar' } });
    }
    if (req.method === 'POST' && pathname === '/migrate' && handlers.migrate) return Response.json({ applied: await handlers.migrate() });
    return Response.json({ error: `${req.method} ${pathname} is not available from a process running "${status.role}"` }, { status: 404 });
  } catch (e) {
    log?.error('admin: request failed', e);
    return Response.json({ error: (e as Error).message }, { status: 500 });
  }
}
