// The command line of `aigc-server` (and `bun run src/index.ts`): which subcommand, its usage, and every
// subcommand but `serve` (src/index.ts runs the server itself). Exit codes: 0 done, 1 failed, 2 usage (a wrong
// command line, or a command that does not apply to this configuration).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';
import { embeddedPgSeed, openDatabase } from '../db/client';
import { migrate } from '../db/migrate';
import { migrations } from '../db/migrations.gen';
import { askAdmin, DataDirBusy, dataDirHolder, holdDataDir, holderLine } from './admin';
import { backupStream, dataDirContents, pgliteOf, restoreBackup, writeBackupFile } from './backup';
import { listTar } from './tar';

export { type Command, parseCommand, USAGE, VERSION } from './command';
import { type Command, VERSION } from './command';

/** The output of a command: stdout and stderr lines. */
export interface Out {
  out(line: string): void;
  err(line: string): void;
}

const PG_TOOLS = (what: 'backup' | 'restore') =>
  `${what} is for the embedded database; with DATABASE_URL set, use PostgreSQL's tools: ` +
  (what === 'backup' ? 'pg_dump --format=custom "$DATABASE_URL" > aigc.dump' : 'pg_restore --clean --dbname="$DATABASE_URL" aigc.dump') +
  ', and copy DATA_DIR/files (or the S3 bucket) and DATA_DIR/jwt-secret separately';

/** Runs a command that needs the configuration (all but serve, help, version, invalid); returns the exit code. */
export async function runCommand(command: Command, config: Config, io: Out): Promise<number> {
  try {
    switch (command.name) {
      case 'migrate':
        return await migrateCommand(config, io);
      case 'backup':
        return await backupCommand(config, command.file, command.force, io);
      case 'restore':
        return await restoreCommand(config, command.file, command.force, io);
      case 'review': {
        if (!config.databaseUrl) {
          const holder = await dataDirHolder(config.dataDir);
          if (holder) {
            io.err(`${holderLine(config.dataDir, holder)}: stop it first (the embedded database serves one process)`);
            return 1;
          }
        }
        const { reviewCli } = await import('./review');
        return await reviewCli(config, command.args, io.out);
      }
      default:
        io.err(`not a command to run here: ${command.name}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof DataDirBusy) {
      io.err(`${e.message}; try again once it has finished`);
      return 1;
    }
    io.err(`${command.name} failed: ${(e as Error).message}`);
    return 1;
  }
}

async function migrateCommand(config: Config, io: Out): Promise<number> {
  const report = (applied: string[], where: string, by = '') => {
    if (applied.length) io.out(`applied ${applied.length} migration(s) to ${where}${by}: ${applied.join(', ')}`);
    else io.out(`nothing to apply: ${where} is up to date (${migrations.length} migrations)${by}`);
    return 0;
  };
  if (config.databaseUrl) {
    const database = await openDatabase({ kind: 'postgres', url: config.databaseUrl, max: 1 });
    try {
      return report(await migrate(database.db, migrations), 'the PostgreSQL database (DATABASE_URL)');
    } finally {
      await database.close();
    }
  }
  const where = `the embedded database (${join(config.dataDir, 'pg')})`;
  const res = await askAdmin(config.dataDir, '/migrate', { method: 'POST' }, 120_000);
  if (res) {
    const body = (await res.json()) as { applied?: string[]; error?: string };
    if (!res.ok || !body.applied) throw new Error(body.error ?? `the running process answered HTTP ${res.status}`);
    return report(body.applied, where, ' (asked the running server)');
  }
  return withDataDir(config, 'migrate', async () => {
    const database = await openDatabase({ kind: 'pglite', dataDir: join(config.dataDir, 'pg'), seed: embeddedPgSeed(config.pgliteSeedFile) });
    try {
      return report(await migrate(database.db, migrations), where);
    } finally {
      await database.close();
    }
  });
}

async function backupCommand(config: Config, file: string, force: boolean, io: Out): Promise<number> {
  if (config.databaseUrl) {
    io.err(PG_TOOLS('backup'));
    return 2;
  }
  if (existsSync(file) && !force) {
    io.err(`${file} exists; add --force to overwrite it`);
    return 1;
  }
  const res = await askAdmin(config.dataDir, '/backup', { method: 'POST' }, 3_600_000);
  if (res) {
    if (!res.ok || !res.body) throw new Error(((await res.json().catch(() => ({}))) as { error?: string }).error ?? `the running process answered HTTP ${res.status}`);
    const size = await writeBackupFile(res.body, file);
    io.out(`backup written to ${file} (${size} bytes, by the running server): ${contentsOf(file)}`);
    return 0;
  }
  if (!existsSync(join(config.dataDir, 'pg', 'PG_VERSION'))) {
    io.err(`nothing to back up: ${join(config.dataDir, 'pg')} holds no database`);
    return 1;
  }
  // no server: this process opens the data dir itself, holding the admin socket meanwhile
  return withDataDir(config, 'backup', async () => {
    const database = await openDatabase({ kind: 'pglite', dataDir: join(config.dataDir, 'pg') });
    try {
      const size = await writeBackupFile(await backupStream(pgliteOf(database)!, config.dataDir, VERSION), file);
      io.out(`backup written to ${file} (${size} bytes; no server was running): ${contentsOf(file)}`);
      return 0;
    } finally {
      await database.close();
    }
  });
}

async function restoreCommand(config: Config, file: string, force: boolean, io: Out): Promise<number> {
  if (config.databaseUrl) {
    io.err(PG_TOOLS('restore'));
    return 2;
  }
  if (!existsSync(file)) {
    io.err(`${file} does not exist`);
    return 1;
  }
  const holder = await dataDirHolder(config.dataDir);
  if (holder) {
    io.err(`${holderLine(config.dataDir, holder)}: stop it before restoring`);
    return 1;
  }
  const here = dataDirContents(config.dataDir);
  if ((here.database || here.files > 0) && !force) {
    const what = [here.database ? 'a database (pg/)' : '', here.files ? `${here.files} stored file(s) (files/)` : ''].filter(Boolean).join(' and ');
    io.err(`DATA_DIR=${config.dataDir} is not empty: it holds ${what}; add --force to replace its contents with the backup`);
    return 1;
  }
  return withDataDir(config, 'restore', async () => {
    const r = await restoreBackup(file, config.dataDir);
    io.out(
      `restored ${file} (backup of ${r.manifest.created_at}, version ${r.manifest.app_version}) into DATA_DIR=${config.dataDir}: ` +
        `database with ${r.users} user(s) and ${r.tasks} task(s), ${r.files} file(s), ` +
        (r.jwtSecret ? 'jwt-secret' : 'no jwt-secret in the backup (JWT_SECRET was set: set the same value)'),
    );
    return 0;
  });
}

/** What a written archive holds, for the report line. */
function contentsOf(file: string): string {
  const names = listTar(file).map((e) => e.path);
  const files = names.filter((n) => n.startsWith('files/')).length;
  return `the database, ${files} stored file(s), ${names.includes('jwt-secret') ? 'jwt-secret' : 'no jwt-secret (JWT_SECRET is set: keep it)'}`;
}

/** Runs `fn` holding the data dir's admin socket, so that no server starts on it meanwhile. */
async function withDataDir(config: Config, role: string, fn: () => Promise<number>): Promise<number> {
  const release = await holdDataDir(config.dataDir, role, VERSION);
  try {
    return await fn();
  } finally {
    release();
  }
}
