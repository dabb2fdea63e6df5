// deploy/: the Compose file is checked with dclint (the Compose specification's JSON schema and its rules), and its
// services, roles, health checks, environment and proxy are checked against each other and against what the
// application reads (no Docker engine runs here, so this is how the files stay correct).
import { describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DCLinter } from 'dclint';
import { ConfigError, loadConfig } from '../src/config';

const ROOT = join(import.meta.dir, '..');
const DEPLOY = join(ROOT, 'deploy');
const read = (f: string) => readFileSync(join(DEPLOY, f), 'utf8');

/** KEY=value lines of an env file (comments and blank lines skipped). */
function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}; $$ is a literal $. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (all, name?: string, op?: string, arg?: string) => {
    if (all === '$$') return '$';
    const v = vars[name!];
    if (v !== undefined && v !== '') return v;
    if (op === '-') return arg!;
    if (op === '?') throw new Error(`compose would stop: ${arg}`);
    return '';
  });
}

const compose = Bun.YAML.parse(read('compose.yaml')) as any;
const dotEnv = envFile(read('.env.example'));
const appEnv = { ...envFile(read('aigc.env.example')), JWT_SECRET: 'x'.repeat(48) };

/** What one app service's container gets: env_file first, then `environment` (which wins), interpolated. */
function containerEnv(service: string): Record<string, string> {
  const s = compose.services[service];
  const env: Record<string, string> = { ...appEnv };
  for (const [k, v] of Object.entries(s.environment as Record<string, string>)) env[k] = interpolate(String(v), dotEnv);
  return env;
}

describe('deploy/compose.yaml', () => {
  test('dclint finds nothing (schema and rules)', () => {
    const linter = new DCLinter({ rules: {}, quiet: false, debug: false, exclude: [] });
    const [result] = linter.lintFiles([join(DEPLOY, 'compose.yaml')], false);
    expect(result.messages).toEqual([]);
  });

  test('PostgreSQL, MinIO with its bucket job, the proxy, two api and two worker instances, each with a health check', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'minio', 'minio-init', 'postgres', 'proxy', 'worker']);
    for (const [name, role] of [['api', 'api'], ['worker', 'worker']]) {
      const s = compose.services[name];
      expect(s.environment.ROLE).toBe(role);
      expect(s.deploy.replicas).toBe(2);
      expect(s.healthcheck.test.join(' ')).toContain('GET /readyz');
      expect(s.env_file).toEqual([{ path: 'aigc.env', required: true }]);
      expect(s.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
      expect(existsSync(join(DEPLOY, s.build.context, s.build.dockerfile))).toBe(true);
    }
    expect(compose.services.postgres.healthcheck.test.join(' ')).toContain('pg_isready');
    expect(compose.services.minio.healthcheck.test).toEqual(['CMD', 'mc', 'ready', 'local']);
    expect(compose.services['minio-init'].depends_on.minio.condition).toBe('service_healthy');
    expect(compose.services['minio-init'].entrypoint.join('\n')).toContain('mc mb --ignore-existing "local/$$S3_BUCKET"');
    expect(compose.services.proxy.depends_on.api.condition).toBe('service_healthy');
    expect(compose.services.proxy.healthcheck.test.join(' ')).toContain('/healthz');
    // every named volume is declared
    const used = Object.values(compose.services as Record<string, any>)
      .flatMap((s) => (s.volumes ?? []) as string[])
      .map((v) => v.split(':')[0])
      .filter((v) => !v.startsWith('.'));
    expect(used.sort()).toEqual(Object.keys(compose.volumes).sort());
  });

  test('the app containers start with this configuration (loadConfig accepts it), and refuse without JWT_SECRET', () => {
    for (const [service, role] of [['api', 'api'], ['worker', 'worker']] as const) {
      const env: Record<string, string> = { ...containerEnv(service), DATA_DIR: mkdtempSync(join(tmpdir(), 'aigc-deploy-')) };
      const c = loadConfig(env);
      expect(c.role).toBe(role);
      expect(c.databaseUrl).toBe(`postgres://aigc:${dotEnv.POSTGRES_PASSWORD}@postgres:5432/aigc`);
      expect(c.storage).toMatchObject({ kind: 's3', bucket: dotEnv.S3_BUCKET, endpoint: 'http://minio:9000', accessKeyId: dotEnv.S3_ACCESS_KEY_ID });
      expect(c.port).toBe(3000);
      expect(c.trustProxy).toBe(role === 'api');
      const { JWT_SECRET: _, ...without } = env;
      expect(() => loadConfig(without)).toThrow(ConfigError);
      expect(() => loadConfig(without)).toThrow(`JWT_SECRET must be set when ROLE=${role}`);
    }
    // aigc.env.example names JWT_SECRET, empty: compose starts, the app refuses with its one line
    expect(envFile(read('aigc.env.example')).JWT_SECRET).toBe('');
  });

  test('every variable the files set is one the application reads; every ${VAR} without a default is in .env.example', () => {
    // settings are read by src/config.ts and by the readers it calls (providers, moderation, logs, CORS, quotas …)
    const sources = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(ROOT, 'src', f), 'utf8'))
      .join('\n');
    const names = new Set([
      ...Object.keys(compose.services.api.environment),
      ...Object.keys(compose.services.worker.environment),
      ...Object.keys(envFile(read('aigc.env.example').replace(/^# ([A-Z0-9_]+=)/gm, '$1'))),
    ]);
    for (const name of names) expect(sources.includes(`'${name}'`) || sources.includes(`env.${name}`), name).toBe(true);
    const required = [...read('compose.yaml').matchAll(/\$\{([A-Z0-9_]+)(:\?[^}]*)?\}/g)].map((m) => m[1]);
    for (const name of required) expect(dotEnv[name], name).toBeTruthy();
    // the secrets files stay out of git
    const ignored = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n');
    expect(ignored).toContain('.env');
    expect(ignored).toContain('deploy/aigc.env');
  });

  test('the Caddyfile proxies to every api replica on the port the image listens on, unbuffered', () => {
    const caddy = read('Caddyfile');
    const port = /ENV .*PORT=(\d+)/.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))![1];
    expect(caddy).toMatch(new RegExp(`dynamic a api ${port}\\b`));
    expect(caddy).toContain('flush_interval -1');
    expect(compose.services.proxy.volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(compose.services.proxy.ports).toEqual(['0.0.0.0:${HTTP_PORT:-8080}:80']);
  });
});
