// The command line's words: which subcommand, its usage, the version. Kept apart from the commands themselves
// (main.ts) so that --help, --version and a wrong command line answer without loading the server.
import { resolve } from 'node:path';
import { version } from '../../package.json';

export const VERSION: string = version;

export type Command =
  | { name: 'serve' }
  | { name: 'help' }
  | { name: 'version' }
  | { name: 'migrate' }
  | { name: 'backup'; file: string; force: boolean }
  | { name: 'restore'; file: string; force: boolean }
  | { name: 'review'; args: string[] }
  | { name: 'invalid'; message: string };

export const USAGE = `aigc-server ${VERSION}: the AIGC backend

usage: aigc-server [command]

commands:
  serve                   run the server (the default when no command is given)
  migrate                 apply the database migrations (DATABASE_URL, or the embedded database in DATA_DIR/pg),
                          print what was applied; with the server running, it is asked to do it
  backup FILE [--force]   write a backup of the embedded database, DATA_DIR/files and DATA_DIR/jwt-secret to FILE
                          (a tar); works while the server runs (it is asked through DATA_DIR/admin.sock);
                          --force overwrites an existing FILE
  restore FILE [--force]  restore a backup into DATA_DIR; the server must be stopped; --force replaces an
                          existing database and files
  review list             outputs held for content review (the server must be stopped when the database is embedded)
  review approve TASK_ID  publish a held output
  review reject TASK_ID [REASON]
                          reject it (the stored output is deleted)
  --version               print the version
  --help                  print this help

With DATABASE_URL set, back up and restore PostgreSQL with pg_dump / pg_restore (and copy DATA_DIR or the bucket).
Configuration is read from the environment (DATA_DIR, DATABASE_URL, PORT, ...): see "Configuration" in README.md.
`;

/** Reads the command line (the arguments after the program). */
export function parseCommand(argv: string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'serve') {
    return rest.length ? { name: 'invalid', message: `serve takes no arguments (got ${rest.join(' ')}); configure it with environment variables` } : { name: 'serve' };
  }
  if (first === '--help' || first === '-h' || first === 'help') return { name: 'help' };
  if (first === '--version' || first === '-v' || first === 'version') return { name: 'version' };
  if (first === 'review') return { name: 'review', args: rest };
  if (first === 'migrate') return rest.length ? { name: 'invalid', message: `migrate takes no arguments (got ${rest.join(' ')})` } : { name: 'migrate' };
  if (first === 'backup' || first === 'restore') {
    const force = rest.includes('--force');
    const files = rest.filter((a) => a !== '--force');
    const unknown = files.find((a) => a.startsWith('-') && a !== '-');
    if (unknown) return { name: 'invalid', message: `${first}: unknown option ${unknown}` };
    if (files.length !== 1) return { name: 'invalid', message: `${first} needs exactly one FILE` };
    return { name: first, file: resolve(files[0]), force };
  }
  return { name: 'invalid', message: `unknown command: ${first}` };
}
