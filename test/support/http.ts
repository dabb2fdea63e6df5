import { expect } from 'bun:test';
import type { App } from '../../src/app';
import { favorites, users } from '../../src/db/schema';
import { createPasswords } from '../../src/modules/auth/password';
import { startSession } from '../../src/modules/sessions/service';
import { testEnv } from './env';

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  token?: string;
  headers?: Record<string, string>;
  /** JSON-encoded unless it is a string, Blob, FormData or bytes */
  body?: unknown;
  app?: App;
}

/** One request through the real app (Request → Response), parsed as JSON when it is JSON. */
export async function call<T = any>(method: string, path: string, opts: CallOptions = {}): Promise<Res<T>> {
  const app = opts.app ?? (await testEnv()).app;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: RequestInit['body'];
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string' || opts.body instanceof Blob || opts.body instanceof FormData || opts.body instanceof Uint8Array) {
      body = opts.body as RequestInit['body'];
    } else {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
  const type = res.headers.get('content-type') ?? '';
  const parsed = type.includes('json') ? await res.json() : await res.arrayBuffer();
  return { status: res.status, body: parsed as T, headers: res.headers };
}

let seq = 0;
/** A unique suffix for account names and addresses, so test files never collide. */
export const uniq = (prefix = 'u') => `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}`;

export const PASSWORD = 'User@1234';

export interface TestUser {
  account: string;
  email: string;
  password: string;
  token: string;
}

/** Registers and logs in a fresh user through the API (argon2 twice: for tests where that is the subject). */
export async function registerAndLogin(prefix = 'u'): Promise<TestUser> {
  const account = uniq(prefix);
  const email = `${account}@example.com`;
  const reg = await call('POST', '/api/v1/auth/register', { body: { account, email, password: PASSWORD } });
  if (reg.body.code !== 200) throw new Error(`register failed: ${JSON.stringify(reg.body)}`);
  const login = await call('POST', '/api/v1/auth/login', { body: { account, password: PASSWORD } });
  if (login.body.code !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  return { account, email, password: PASSWORD, token: login.body.data.token };
}

/** argon2id of PASSWORD, computed once per process: a fixture user logs in with PASSWORD like any other */
let passwordHash: Promise<string> | undefined;

/**
 * A fresh user with a session, written the way register + login write them (user row, favorites root, session,
 * token) without hashing a password for each one: about 0.5 s less per user. The stored hash is a real argon2id of
 * PASSWORD, so logging in, changing or resetting the password work as for a registered user.
 */
export async function newUser(prefix = 'u'): Promise<TestUser> {
  const env = await testEnv();
  const account = uniq(prefix);
  const email = `${account}@example.com`;
  passwordHash ??= createPasswords(env.config.passwordCost).hash(PASSWORD);
  const db = env.database.db;
  const user = await db.transaction(async (tx) => {
    const [row] = await tx.insert(users).values({ account, email, passwordHash: await passwordHash!, createdAt: env.clock.now() }).returning({ id: users.id });
    await tx.insert(favorites).values({ userId: row.id, parentId: null, name: '/', nodeType: 'folder' });
    return row;
  });
  const { token } = await startSession({ db, tokens: env.tokens, clock: env.clock }, db, user.id, { userAgent: null, ip: null });
  return { account, email, password: PASSWORD, token };
}

/** Uploads a PNG as `u` (POST /api/v1/upload, raw body) and expects code 200; returns the upload's data. */
export async function uploadPng(u: TestUser, bytes: Uint8Array): Promise<{ file_id: string; file_url: string }> {
  const res = await call('POST', '/api/v1/upload', { token: u.token, body: bytes, headers: { 'content-type': 'image/png' } });
  expect(res.body.code).toBe(200);
  return res.body.data;
}
