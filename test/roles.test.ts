// ROLE=all|api|worker (issue 12): the configuration rules and the worker's HTTP side. The roles running together
// as separate processes on one database and bucket are tested in multi-instance.test.ts.
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkerApp } from '../src/app';
import { ConfigError, loadConfig } from '../src/config';
import type { Database } from '../src/db/client';
import { silentLogger } from '../src/logger';
import { testEnv } from './support/env';
import { call } from './support/http';
import { runCli } from './support/server-process';

setDefaultTimeout(60_000);

const dir = () => mkdtempSync(join(tmpdir(), 'aigc-role-'));
const PG = 'postgres://u@db.internal:5432/aigc';
const SECRET = 's'.repeat(40);

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('no ConfigError');
}

describe('ROLE configuration', () => {
  test('default all; api and worker in any letter case', () => {
    expect(loadConfig({ DATA_DIR: dir() }).role).toBe('all');
    expect(loadConfig({ DATA_DIR: dir(), ROLE: 'API', DATABASE_URL: PG, JWT_SECRET: SECRET }).role).toBe('api');
    expect(loadConfig({ DATA_DIR: dir(), ROLE: ' worker ', DATABASE_URL: PG, JWT_SECRET: SECRET }).role).toBe('worker');
  });

  test('an unknown role stops start-up naming ROLE', () => {
    expect(configError({ DATA_DIR: dir(), ROLE: 'both' })).toBe('ROLE=both must be one of all, api, worker');
  });

  test.each(['api', 'worker'])('ROLE=%s with DATABASE_URL and no JWT_SECRET is refused (no secret is generated)', (role) => {
    const d = dir();
    const message = configError({ DATA_DIR: d, ROLE: role, DATABASE_URL: PG });
    expect(message).toStartWith(`JWT_SECRET must be set when ROLE=${role} and DATABASE_URL is set`);
    expect(message).not.toContain('\n');
    expect(existsSync(join(d, 'jwt-secret'))).toBe(false);
  });

  test('ROLE=all with DATABASE_URL may still generate its secret (one instance)', () => {
    const d = dir();
    expect(loadConfig({ DATA_DIR: d, DATABASE_URL: PG }).jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(existsSync(join(d, 'jwt-secret'))).toBe(true);
  });

  test.each(['api', 'worker'])('ROLE=%s without DATABASE_URL is refused: the embedded database cannot be shared', (role) => {
    expect(configError({ DATA_DIR: dir(), ROLE: role, JWT_SECRET: SECRET })).toStartWith(`ROLE=${role} needs DATABASE_URL`);
  });

  test('the real process refuses a generated secret for ROLE=worker with one line and exit code 1', async () => {
    const { JWT_SECRET: _, ...inherited } = process.env;
    const { code, err } = await runCli([], { ...inherited, DATA_DIR: dir(), ROLE: 'worker', DATABASE_URL: PG });
    expect(code).toBe(1);
    const lines = err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith('configuration error: JWT_SECRET must be set when ROLE=worker and DATABASE_URL is set');
  });
});

describe('the HTTP side of ROLE=worker', () => {
  test('/healthz and /readyz answer; every other path is HTTP 404 code 404', async () => {
    const env = await testEnv();
    const app = createWorkerApp({ config: env.config, database: env.database, log: silentLogger }) as unknown as typeof env.app;
    expect((await call('GET', '/healthz', { app })).body).toEqual({ code: 200, message: 'ok' });
    expect((await call('GET', '/readyz', { app })).body).toEqual({ code: 200, message: 'ok' });
    for (const [method, path, body] of [
      ['POST', '/api/v1/auth/login', { account: 'a', password: 'b' }],
      ['POST', '/api/v1/auth/register', { account: 'a', email: 'a@b.cn', password: 'User@1234' }],
      ['GET', '/api/v1/generation/abc', undefined],
      ['GET', '/generated_outputs/x.png', undefined],
      ['GET', '/uploads/x.png', undefined],
      ['GET', '/swagger', undefined],
      ['GET', '/swagger/json', undefined],
      ['GET', '/', undefined],
    ] as const) {
      const res = await call(method, path, { app, body, token: 'x' });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code, `${method} ${path}`).toBe(404);
    }
  });

  test('/readyz is HTTP 503 when the database does not answer', async () => {
    const env = await testEnv();
    const broken: Database = { ...env.database, ping: () => Promise.reject(new Error('down')) };
    const app = createWorkerApp({ config: env.config, database: broken, log: silentLogger }) as unknown as typeof env.app;
    const res = await call('GET', '/readyz', { app });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ code: 503, message: '数据库不可用' });
  });
});
