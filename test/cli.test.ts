// The command line end to end, with real processes: --version/--help/unknown, migrate, backup while serving,
// restore (refusals, then into a new data dir and over the old one), and the DATABASE_URL explanations.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrations } from '../src/db/migrations.gen';
import pkg from '../package.json';
import { pgAdminUrl, postgresReachable, scratchDatabase } from './support/pg';
import { ROOT, runCli, type ServerProcess, spawnServer } from './support/server-process';

// real processes, each opening the embedded database: seconds on 2 busy cores
setDefaultTimeout(120_000);

const tmp = mkdtempSync(join(tmpdir(), 'aigc-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The environment of a spawned process: embedded database in `dataDir`, a generated jwt-secret. */
function envFor(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), DATA_DIR: dataDir, DATABASE_URL: '', WORKERS: '1', ...extra };
  delete env.JWT_SECRET;
  return env;
}

const cli = runCli;
const serve = (dataDir: string): Promise<ServerProcess> => spawnServer({ env: envFor(dataDir) });
async function stop(s: ServerProcess) {
  expect(await s.stop()).toBe(0);
}

async function api(base: string, method: string, path: string, opts: { token?: string; json?: unknown; body?: Uint8Array; type?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  if (opts.type) headers['content-type'] = opts.type;
  const res = await fetch(`${base}${path}`, { method, headers, body: opts.json !== undefined ? JSON.stringify(opts.json) : opts.body });
  return res;
}
const jsonOf = async (res: Response) => (await res.json()) as { code: number; data: any };

describe('information', () => {
  test('--version prints the package version; nothing is created', async () => {
    const dir = join(tmp, 'untouched');
    const r = await cli(['--version'], envFor(dir));
    expect(r).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
    expect(existsSync(dir)).toBe(false);
  });

  test('--help lists every subcommand and points to the configuration', async () => {
    const r = await cli(['--help'], envFor(join(tmp, 'untouched')));
    expect(r.code).toBe(0);
    for (const word of ['serve', 'migrate', 'backup FILE', 'restore FILE', '--force', 'review list', 'review approve', 'review reject', '--version', 'pg_dump', 'README']) {
      expect(r.out).toContain(word);
    }
  });

  test('an unknown subcommand: usage on stderr, exit 2', async () => {
    const r = await cli(['frobnicate'], envFor(join(tmp, 'untouched')));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.split('\n')[0]).toBe('unknown command: frobnicate');
    expect(r.err).toContain('usage: aigc-server');
    const noFile = await cli(['backup'], envFor(join(tmp, 'untouched')));
    expect(noFile.code).toBe(2);
    expect(noFile.err).toContain('backup needs exactly one FILE');
  });
});

describe('with DATABASE_URL', () => {
  const env = () => envFor(join(tmp, 'pg-url'), { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
  test.each(['backup', 'restore'])('%s explains that pg_dump/pg_restore are the tools (exit 2)', async (cmd) => {
    const r = await cli([cmd, join(tmp, 'x.tar')], env());
    expect(r.code).toBe(2);
    expect(r.err).toContain(cmd === 'backup' ? 'pg_dump' : 'pg_restore');
    expect(r.err).toContain('DATABASE_URL');
    expect(existsSync(join(tmp, 'x.tar'))).toBe(false);
  });

  // a scratch database of its own on the local PostgreSQL (the suite's other pass uses TEST_DATABASE_URL itself)
  test('migrate on a fresh PostgreSQL database applies every migration; again: nothing to apply', async () => {
    if (!(await postgresReachable())) {
      if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${pgAdminUrl()}`);
      console.warn(`cli test: migrate on PostgreSQL not run, nothing answers at ${pgAdminUrl()}`);
      return;
    }
    const db = await scratchDatabase('cli');
    try {
      const r = await cli(['migrate'], envFor(join(tmp, 'pg-url'), { DATABASE_URL: db.url }));
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/PostgreSQL database \(DATABASE_URL\)/);
      for (const m of migrations) expect(r.out).toContain(m.tag);
      const again = await cli(['migrate'], envFor(join(tmp, 'pg-url'), { DATABASE_URL: db.url }));
      expect(again.code).toBe(0);
      expect(again.out).toContain('nothing to apply');
    } finally {
      await db.drop();
    }
  });
});

describe('embedded database: migrate, backup while serving, restore', () => {
  const a = join(tmp, 'a');
  const b = join(tmp, 'b');
  const backup = join(tmp, 'backup.tar');
  const jpeg = new Uint8Array(readFileSync(join(ROOT, 'test/fixtures/sample.jpg')));
  const account = `cli${Date.now().toString(36)}`;
  const password = 'User@1234';
  let token = '';
  let uploadUrl = '';

  test('migrate on a fresh data dir applies every migration; again: nothing to apply', async () => {
    // from a data dir as initdb leaves it (test/support/preload.ts), so that every migration itself runs here; from
    // source, because the binary always starts from the migrated data dir built into it
    const unmigrated = envFor(a, { PGLITE_SEED: process.env.AIGC_TEST_BARE_PGSEED! });
    expect(existsSync(unmigrated.PGLITE_SEED)).toBe(true);
    const first = await cli(['migrate'], unmigrated, { fromSource: true });
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain(`applied ${migrations.length} migration(s)`);
    for (const m of migrations) expect(first.out).toContain(m.tag);
    const again = await cli(['migrate'], envFor(a));
    expect(again.code).toBe(0);
    expect(again.out).toContain('nothing to apply');
    expect(existsSync(join(a, 'admin.sock'))).toBe(false); // released
  });

  test('backup while serving; the data dir is refused to restore and a second server; then data changes', async () => {
    const s = await serve(a);
    try {
      const sock = statSync(join(a, 'admin.sock'));
      expect(sock.isSocket()).toBe(true);
      expect(sock.mode & 0o777).toBe(0o600);
      expect((await jsonOf(await api(s.base, 'POST', '/api/v1/auth/register', { json: { account, email: `${account}@example.com`, password } }))).code).toBe(200);
      const login = await jsonOf(await api(s.base, 'POST', '/api/v1/auth/login', { json: { account, password } }));
      token = login.data.token;
      const tree = await jsonOf(await api(s.base, 'GET', '/api/v1/user/favorite_list', { token }));
      const root = JSON.stringify(tree.data).match(/"id":(\d+)/)![1];
      const add = (name: string) => api(s.base, 'POST', '/api/v1/user/favorite_list', { token, json: { parent_id: Number(root), name, node_type: 'folder' } }).then(jsonOf);
      expect((await add('kept-before-backup')).code).toBe(200);
      const up = await jsonOf(await api(s.base, 'POST', '/api/v1/upload', { token, body: jpeg, type: 'image/jpeg' }));
      expect(up.code).toBe(200);
      uploadUrl = up.data.file_url;

      const r = await cli(['backup', backup], envFor(a));
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toContain('by the running server');
      expect(r.out).toContain('the database, 1 stored file(s), jwt-secret');
      expect(statSync(backup).mode & 0o777).toBe(0o600);
      // the server keeps serving meanwhile and after
      expect((await fetch(`${s.base}/healthz`)).ok).toBe(true);
      const exists = await cli(['backup', backup], envFor(a));
      expect(exists.code).toBe(1);
      expect(exists.err).toContain('--force');

      // while it serves: migrate asks it, restore and a second server are refused
      const m = await cli(['migrate'], envFor(a));
      expect(m.code).toBe(0);
      expect(m.out).toContain('nothing to apply');
      expect(m.out).toContain('(asked the running server)');
      const busy = await cli(['restore', backup, '--force'], envFor(a));
      expect(busy.code).toBe(1);
      expect(busy.err).toContain(`a server (pid ${s.proc.pid}) is using DATA_DIR=${a}`);
      const second = await cli([], envFor(a, { PORT: '0', HOST: '127.0.0.1' }));
      expect(second.code).toBe(1);
      expect(second.err).toContain('is using DATA_DIR');

      // changes after the backup: a restore must undo them
      expect((await add('added-after-backup')).code).toBe(200);
    } finally {
      await stop(s);
    }
    expect(existsSync(join(a, 'admin.sock'))).toBe(false);
  });

  test('the archive: manifest, database tarball, jwt-secret, the uploaded file', async () => {
    const { listTar, readEntry } = await import('../src/cli/tar');
    const entries = listTar(backup);
    const names = entries.map((e) => e.path);
    expect(names.slice(0, 3)).toEqual(['aigc-backup.json', 'pg.tgz', 'jwt-secret']);
    const uploaded = names.filter((n) => n.startsWith('files/'));
    expect(uploaded).toEqual([`files${uploadUrl}`]);
    const manifest = JSON.parse(new TextDecoder().decode(readEntry(backup, entries[0])));
    expect(manifest).toMatchObject({ format: 'aigc-backup', format_version: 1, app_version: pkg.version, files: 1, jwt_secret: true });
    expect(new TextDecoder().decode(readEntry(backup, entries[2]))).toBe(readFileSync(join(a, 'jwt-secret'), 'utf8'));
  });

  test('restore into a new data dir: the user logs in, the token still works, favorites and the file are back', async () => {
    const r = await cli(['restore', backup], envFor(b));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/database with 1 user\(s\) and 0 task\(s\), 1 file\(s\), jwt-secret/);
    expect(readFileSync(join(b, 'jwt-secret'), 'utf8')).toBe(readFileSync(join(a, 'jwt-secret'), 'utf8'));
    expect(readdirSync(b).filter((f) => f.startsWith('.restore-'))).toEqual([]);
    const s = await serve(b);
    try {
      const login = await jsonOf(await api(s.base, 'POST', '/api/v1/auth/login', { json: { account, password } }));
      expect(login.code).toBe(200);
      const tree = JSON.stringify((await jsonOf(await api(s.base, 'GET', '/api/v1/user/favorite_list', { token }))).data);
      expect(tree).toContain('kept-before-backup');
      expect(tree).not.toContain('added-after-backup');
      const file = await api(s.base, 'GET', uploadUrl, { token: login.data.token });
      expect(file.status).toBe(200);
      expect(new Uint8Array(await file.arrayBuffer())).toEqual(jpeg);
    } finally {
      await stop(s);
    }
  });

  test('restore refuses a non-empty data dir without --force; with it, the old state comes back', async () => {
    const refused = await cli(['restore', backup], envFor(a));
    expect(refused.code).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.err.trim()).toBe(`DATA_DIR=${a} is not empty: it holds a database (pg/) and 1 stored file(s) (files/); add --force to replace its contents with the backup`);
    const junk = join(a, 'files', 'uploads', 'junk.bin');
    writeFileSync(junk, 'not in the backup');
    const forced = await cli(['restore', backup, '--force'], envFor(a));
    expect(forced.err).toBe('');
    expect(forced.code).toBe(0);
    expect(existsSync(junk)).toBe(false);
    const s = await serve(a);
    try {
      const tree = JSON.stringify((await jsonOf(await api(s.base, 'GET', '/api/v1/user/favorite_list', { token }))).data);
      expect(tree).toContain('kept-before-backup');
      expect(tree).not.toContain('added-after-backup');
    } finally {
      await stop(s);
    }
  });

  test('a socket left behind by a killed server blocks neither a restore check nor the next start', async () => {
    await (await serve(b)).kill9();
    expect(statSync(join(b, 'admin.sock')).isSocket()).toBe(true);
    const r = await cli(['restore', backup], envFor(b));
    expect(r.code).toBe(1);
    expect(r.err).toContain('is not empty'); // not "in use"
    await stop(await serve(b));
  });

  test('backup with no server running opens the data dir itself; a damaged archive is refused, nothing replaced', async () => {
    const offline = join(tmp, 'offline.tar');
    const r = await cli(['backup', offline], envFor(b));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('no server was running');
    const { listTar } = await import('../src/cli/tar');
    expect(listTar(offline).map((e) => e.path)).toContain(`files${uploadUrl}`);

    const damaged = join(tmp, 'damaged.tar');
    writeFileSync(damaged, readFileSync(offline).subarray(0, 3000));
    const before = readdirSync(join(b, 'pg')).sort();
    const bad = await cli(['restore', damaged, '--force'], envFor(b));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('restore failed');
    expect(readdirSync(join(b, 'pg')).sort()).toEqual(before);
    expect(readdirSync(b).filter((f) => f.startsWith('.restore-'))).toEqual([]);
  });
});
