import { describe, expect, test, setDefaultTimeout } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import { loadConfig } from '../src/config';
import { favorites, users } from '../src/db/schema';
import { testEnv } from './support/env';
import { call, newUser, PASSWORD, uniq } from './support/http';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);

const register = (body: unknown) => call('POST', '/api/v1/auth/register', { body });
const login = (body: unknown) => call('POST', '/api/v1/auth/login', { body });

describe('password hashing cost (PASSWORD_HASH_MEMORY, PASSWORD_HASH_TIME)', () => {
  /** an app on the shared database whose argon2id cost is `memoryKib` / `time` */
  async function appWithCost(memoryKib: number, time: number) {
    const env = await testEnv();
    const app = env.makeApp({ config: { ...env.config, passwordCost: { memoryKib, time } } });
    return (method: string, path: string, body: unknown) =>
      Promise.resolve(app.handle(new Request(`http://localhost${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))).then(
        (r) => r.json() as Promise<{ code: number; data: any }>,
      );
  }
  const hashOf = async (account: string) => {
    const [u] = await (await testEnv()).database.db.select({ h: users.passwordHash }).from(users).where(eq(users.account, account));
    return u.h;
  };

  test('by default argon2id with m = 64 MiB, t = 2; out-of-range values stop the start', async () => {
    expect(loadConfig({}).passwordCost).toEqual({ memoryKib: 65536, time: 2 });
    const api = await appWithCost(65536, 2);
    const account = uniq('cost');
    expect((await api('POST', '/api/v1/auth/register', { account, email: `${account}@example.com`, password: PASSWORD })).code).toBe(200);
    expect(await hashOf(account)).toMatch(/^\$argon2id\$v=19\$m=65536,t=2,p=1\$/);
    expect(() => loadConfig({ PASSWORD_HASH_MEMORY: '512' })).toThrow(/PASSWORD_HASH_MEMORY/);
    expect(() => loadConfig({ PASSWORD_HASH_TIME: '0' })).toThrow(/PASSWORD_HASH_TIME/);
  });

  test('a hash made at another cost still logs in, and the login re-makes it at the configured cost', async () => {
    const account = uniq('rehash');
    const before = await appWithCost(2048, 1);
    expect((await before('POST', '/api/v1/auth/register', { account, email: `${account}@example.com`, password: PASSWORD })).code).toBe(200);
    expect(await hashOf(account)).toMatch(/\$m=2048,t=1,p=1\$/);
    const after = await appWithCost(4096, 2);
    // a wrong password changes nothing
    expect((await after('POST', '/api/v1/auth/login', { account, password: 'Wrong@1234' })).code).toBe(401);
    expect(await hashOf(account)).toMatch(/\$m=2048,t=1,p=1\$/);
    const ok = await after('POST', '/api/v1/auth/login', { account, password: PASSWORD });
    expect(ok.code).toBe(200);
    expect(await hashOf(account)).toMatch(/\$m=4096,t=2,p=1\$/);
    // a hash carries its own parameters: the new one logs in on the first app too, which re-makes it at its cost
    expect((await before('POST', '/api/v1/auth/login', { account, password: PASSWORD })).code).toBe(200);
    expect(await hashOf(account)).toMatch(/\$m=2048,t=1,p=1\$/);
  });
});

describe('POST /api/v1/auth/register', () => {
  test('creates the account and its favorites root in the same transaction', async () => {
    const account = uniq('Reg_');
    const email = `${account}@Example.com`;
    const res = await register({ account, email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(200);
    expect(res.body.message).toBe('注册成功');
    expect(res.body.data.account).toBe(account);
    expect(res.body.data.email).toBe(email);
    expect(res.body.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(res.body.data.created_at) - Date.now())).toBeLessThan(5000);
    expect(res.body.data.password).toBeUndefined();
    const { db } = (await testEnv()).database;
    const [u] = await db.select().from(users).where(eq(users.account, account));
    expect(u.passwordHash).toStartWith('$argon2id$');
    const roots = await db.select().from(favorites).where(eq(favorites.userId, u.id));
    expect(roots).toEqual([{ id: roots[0].id, userId: u.id, parentId: null, name: '/', nodeType: 'folder', referUrl: null }]);
  });

  test('duplicate account in other letter case is code 401; duplicate email in other case is code 402', async () => {
    const u = await newUser('Dup');
    const a = await register({ account: u.account.toUpperCase(), email: `${uniq()}@example.com`, password: PASSWORD });
    expect(a.status).toBe(200);
    expect(a.body.code).toBe(401);
    const e = await register({ account: uniq('d'), email: u.email.toUpperCase(), password: PASSWORD });
    expect(e.status).toBe(200);
    expect(e.body.code).toBe(402);
  });

  test('concurrent registrations of the same account: exactly one wins', async () => {
    const account = uniq('race');
    const results = await Promise.all(
      [1, 2, 3].map((i) => register({ account, email: `${account}${i}@example.com`, password: PASSWORD })),
    );
    expect(results.map((r) => r.body.code).sort()).toEqual([200, 401, 401]);
    const { db } = (await testEnv()).database;
    const rows = await db.select().from(users).where(sql`lower(${users.account}) = ${account.toLowerCase()}`);
    expect(rows.length).toBe(1);
  });

  const good = () => ({ account: uniq('v'), email: `${uniq()}@example.com`, password: PASSWORD });
  test.each([
    ['missing account', (b: any) => delete b.account, 'account'],
    ['missing email', (b: any) => delete b.email, 'email'],
    ['missing password', (b: any) => delete b.password, 'password'],
    ['account not a string', (b: any) => (b.account = 12345), 'account'],
    ['account too short', (b: any) => (b.account = 'ab'), 'account'],
    ['account too long', (b: any) => (b.account = 'a'.repeat(33)), 'account'],
    ['account with a space', (b: any) => (b.account = 'bad name'), 'account'],
    ['account with @', (b: any) => (b.account = 'bad@name'), 'account'],
    ['bad email', (b: any) => (b.email = 'not-an-email'), 'email'],
    ['email without domain dot', (b: any) => (b.email = 'a@b'), 'email'],
    ['email too long', (b: any) => (b.email = `${'a'.repeat(250)}@example.com`), 'email'],
    ['password too short', (b: any) => (b.password = 'Ab1'), 'password'],
    ['password too long', (b: any) => (b.password = 'A1'.repeat(65)), 'password'],
    ['password without digit', (b: any) => (b.password = 'abcdefghij'), 'password'],
    ['password without letter', (b: any) => (b.password = '1234567890'), 'password'],
    ['password a number', (b: any) => (b.password = 12345678), 'password'],
  ])('%s ⇒ HTTP 200, code 400 naming the field, nothing stored', async (_name, mutate, field) => {
    const body = good();
    mutate(body);
    const res = await register(body);
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(400);
    expect(res.body.message).toContain(field);
    const { db } = (await testEnv()).database;
    if (typeof body.account === 'string') {
      const rows = await db.select().from(users).where(eq(users.account, body.account));
      expect(rows.length).toBe(0);
    }
  });

  test('a body that is not an object is code 400', async () => {
    for (const body of ['[]', '"x"', '42', 'null']) {
      const res = await call('POST', '/api/v1/auth/register', { body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
      expect(res.body.code).toBe(400);
    }
  });
});

describe('POST /api/v1/auth/login', () => {
  test('by account (any case) and by email; token_expire_at is the token exp', async () => {
    const u = await newUser('Login');
    for (const account of [u.account, u.account.toUpperCase(), u.email, u.email.toUpperCase()]) {
      const res = await login({ account, password: PASSWORD });
      expect(res.status).toBe(200);
      expect(res.body.code).toBe(200);
      expect(res.body.message).toBe('登录成功');
      expect(res.body.data.account).toBe(u.account);
      expect(res.body.data.email).toBe(u.email);
      const [, payload] = res.body.data.token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      expect(res.body.data.token_expire_at).toBe(new Date(claims.exp * 1000).toISOString().replace('.000Z', 'Z'));
      const env = await testEnv();
      expect(claims.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(env.config.jwtTtl - 10);
    }
  });

  test('wrong password and unknown account are both code 401 with the same message', async () => {
    const u = await newUser();
    const a = await login({ account: u.account, password: 'Wrong@1234' });
    const b = await login({ account: uniq('nobody'), password: PASSWORD });
    expect(a.status).toBe(200);
    expect(a.body.code).toBe(401);
    expect(b.body.code).toBe(401);
    expect(a.body.message).toBe(b.body.message);
    expect(a.body.data).toBeUndefined();
  });

  test.each([
    [{ password: PASSWORD }, 'account'],
    [{ account: 'someone' }, 'password'],
    [{ account: 42, password: PASSWORD }, 'account'],
    [{ account: '', password: PASSWORD }, 'account'],
    [{ account: 'x'.repeat(300), password: PASSWORD }, 'account'],
    [{ account: 'someone', password: 'p'.repeat(129) }, 'password'],
  ])('invalid body %j ⇒ code 400 naming %s', async (body, field) => {
    const res = await login(body);
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(400);
    expect(res.body.message).toContain(field);
  });
});
