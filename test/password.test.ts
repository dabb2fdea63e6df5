import { afterEach, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { rowsOf } from '../src/db/client';
import { passwordResets, users } from '../src/db/schema';
import { createMailer, type Mailer } from '../src/mail/mailer';
import { silentLogger } from '../src/logger';
import { jwt } from '@elysiajs/jwt';
import { testEnv } from './support/env';
import { resetCodeIn } from './support/mail';
import { call, newUser, PASSWORD, type TestUser, uniq } from './support/http';

// real hashing, SMTP and generation on 2 cores; Bun 1.4 ignores bunfig's [test] timeout, so it is set per file
setDefaultTimeout(60_000);

const forgot = (email: string, headers: Record<string, string> = {}) =>
  call('POST', '/api/v1/auth/forgot-password', { body: { email }, headers });
const reset = (email: string, verification_code: string, new_password: string) =>
  call('POST', '/api/v1/auth/reset-password', { body: { email, verification_code, new_password } });
const login = (account: string, password: string) => call('POST', '/api/v1/auth/login', { body: { account, password } });
const me = (token: string) =>
  call('POST', '/api/v1/user/reset-email', { token, body: { new_email: `${uniq('me')}@example.com` } });

/** The code from the newest message that the SMTP server received for `email`. */
async function codeFor(email: string): Promise<string> {
  const env = await testEnv();
  const mail = env.mails.filter((m) => m.to.includes(email.toLowerCase())).at(-1);
  if (!mail) throw new Error(`no mail for ${email}`);
  return resetCodeIn(mail.raw);
}

const mailCount = async (email: string) => (await testEnv()).mails.filter((m) => m.to.includes(email.toLowerCase())).length;

afterEach(async () => (await testEnv()).clock.reset());

describe('forgot + reset password through a real SMTP server', () => {
  test('the mailed code resets the password, revokes old tokens, and works once', async () => {
    const u = await newUser('fp');
    const res = await forgot(u.email.toUpperCase());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 200, message: '邮件已发送' });
    const code = await codeFor(u.email);
    const { db } = (await testEnv()).database;
    const [row] = await db.select().from(passwordResets);
    expect(JSON.stringify(row)).not.toContain(code); // stored hashed
    const ok = await reset(u.email, code, 'Newpass123');
    expect(ok.body).toEqual({ code: 200, message: '成功重置密码' });
    expect((await login(u.account, 'Newpass123')).body.code).toBe(200);
    expect((await login(u.account, PASSWORD)).body.code).toBe(401);
    const old = await me(u.token);
    expect(old.status).toBe(401);
    expect(old.body.code).toBe(401);
    const again = await reset(u.email, code, 'Another123');
    expect(again.body.code).toBe(401);
    expect((await login(u.account, 'Newpass123')).body.code).toBe(200);
  });

  test('unregistered email is code 401; bad email is code 400', async () => {
    const a = await forgot(`${uniq('ghost')}@example.com`);
    expect(a.status).toBe(200);
    expect(a.body.code).toBe(401);
    const b = await forgot('not-an-email');
    expect(b.body.code).toBe(400);
    expect(b.body.message).toContain('email');
  });

  test('one mail per address per 60 s: HTTP 200, code 429, Retry-After and the wait in the message (DECISIONS §1), then allowed again', async () => {
    const env = await testEnv();
    const u = await newUser('rl');
    expect((await forgot(u.email)).body.code).toBe(200);
    const first = await codeFor(u.email);
    const limited = await forgot(u.email);
    expect(limited.status).toBe(200);
    expect(limited.body.code).toBe(429);
    const retry = Number(limited.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(50);
    expect(retry).toBeLessThanOrEqual(60);
    expect(limited.body.message).toBe(`邮件发送过于频繁，请 ${retry} 秒后再试`);
    expect(await mailCount(u.email)).toBe(1);
    env.clock.advance(61_000);
    expect((await forgot(u.email)).body.code).toBe(200);
    expect(await mailCount(u.email)).toBe(2);
    // a new request replaces the old code
    const second = await codeFor(u.email);
    if (second !== first) expect((await reset(u.email, first, 'Newpass123')).body.code).toBe(401);
    expect((await reset(u.email, second, 'Newpass123')).body.code).toBe(200);
  });

  test('a wrong code is code 401; after 5 wrong attempts even the right code is dead', async () => {
    const u = await newUser('att');
    await forgot(u.email);
    const code = await codeFor(u.email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const r = await reset(u.email, wrong, 'Newpass123');
      expect(r.status).toBe(200);
      expect(r.body.code).toBe(401);
    }
    expect((await reset(u.email, code, 'Newpass123')).body.code).toBe(401);
    expect((await login(u.account, PASSWORD)).body.code).toBe(200);
  });

  test('the right code on the 5th attempt still works', async () => {
    const u = await newUser('att5');
    await forgot(u.email);
    const code = await codeFor(u.email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i++) expect((await reset(u.email, wrong, 'Newpass123')).body.code).toBe(401);
    expect((await reset(u.email, code, 'Newpass123')).body.code).toBe(200);
  });

  test('the code expires after 10 minutes', async () => {
    const env = await testEnv();
    const u = await newUser('exp');
    await forgot(u.email);
    const code = await codeFor(u.email);
    env.clock.advance(10 * 60_000 + 1000);
    expect((await reset(u.email, code, 'Newpass123')).body.code).toBe(401);
    expect((await login(u.account, PASSWORD)).body.code).toBe(200);
  });

  test('the code is single use even when two resets race', async () => {
    const u = await newUser('race');
    await forgot(u.email);
    const code = await codeFor(u.email);
    const results = await Promise.all([reset(u.email, code, 'Newpass123'), reset(u.email, code, 'Other4567')]);
    expect(results.map((r) => r.body.code).sort()).toEqual([200, 401]);
  });

  test.each([
    [{ verification_code: '12345' }, 'verification_code'],
    [{ verification_code: 'abcdef' }, 'verification_code'],
    [{ verification_code: 123456 }, 'verification_code'],
    [{ new_password: 'short1' }, 'new_password'],
    [{ new_password: 'nodigitshere' }, 'new_password'],
    [{ email: 'bad' }, 'email'],
  ])('reset with %j ⇒ code 400 naming %s', async (patch, field) => {
    const body = { email: 'x@example.com', verification_code: '123456', new_password: 'Newpass123', ...patch };
    const r = await call('POST', '/api/v1/auth/reset-password', { body });
    expect(r.status).toBe(200);
    expect(r.body.code).toBe(400);
    expect(r.body.message).toContain(field);
  });

  test('reset for an unregistered email is code 401', async () => {
    expect((await reset(`${uniq('none')}@example.com`, '123456', 'Newpass123')).body.code).toBe(401);
  });

  test('per-IP limit on forgot-password: HTTP 429 past the limit', async () => {
    const env = await testEnv();
    // behind a trusted proxy the client address comes from X-Forwarded-For, so this test owns its IP
    const app = env.makeApp({ config: { ...env.config, trustProxy: true, forgotPerIpPerMinute: 3 } });
    const ip = { 'x-forwarded-for': '203.0.113.77' };
    const codes = [];
    for (let i = 0; i < 4; i++) {
      const r = await call('POST', '/api/v1/auth/forgot-password', { app, headers: ip, body: { email: `${uniq('scan')}@example.com` } });
      codes.push(r.status);
    }
    expect(codes).toEqual([200, 200, 200, 429]);
    const other = await call('POST', '/api/v1/auth/forgot-password', {
      app,
      headers: { 'x-forwarded-for': '203.0.113.78' },
      body: { email: `${uniq('scan')}@example.com` },
    });
    expect(other.status).toBe(200);
  });

  test('the per-IP forgot-password limit is counted in the database: another instance continues it, a new window starts after a minute', async () => {
    const env = await testEnv();
    const config = { ...env.config, trustProxy: true, forgotPerIpPerMinute: 3 };
    const [a, b] = [env.makeApp({ config }), env.makeApp({ config })];
    const ip = { 'x-forwarded-for': '203.0.113.79' };
    const ask = (app: typeof a) =>
      call('POST', '/api/v1/auth/forgot-password', { app, headers: ip, body: { email: `${uniq('scan')}@example.com` } });
    const codes = [(await ask(a)).status, (await ask(b)).status, (await ask(a)).status];
    const refused = await ask(b);
    expect([...codes, refused.status]).toEqual([200, 200, 200, 429]);
    expect(refused.body.code).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeWithin(1, 61);
    const [row] = rowsOf<{ hits: number }>(await env.database.db.execute(sql`select hits from rate_limits where key = 'forgot-ip:203.0.113.79'`));
    expect(row.hits).toBe(4);
    const { housekeep } = await import('../src/ops/housekeeping');
    try {
      env.clock.advance(61_000);
      expect((await ask(b)).status).toBe(200); // a new window
      env.clock.advance(61_000);
      expect((await housekeep(env.database.db, env.clock, env.config.loginThrottle.windowMs)).counters).toBeGreaterThan(0);
      expect(rowsOf(await env.database.db.execute(sql`select 1 from rate_limits where key = 'forgot-ip:203.0.113.79'`))).toEqual([]);
    } finally {
      env.clock.reset();
    }
  });

  test('mail failure is code 500 and keeps nothing: no code stored, no rate-limit slot used', async () => {
    const env = await testEnv();
    const dead: Mailer = { kind: 'smtp', send: () => Promise.reject(new Error('SMTP down')), close() {} };
    const app = env.makeApp({ mailer: dead });
    const u = await newUser('down');
    const r = await call('POST', '/api/v1/auth/forgot-password', { app, body: { email: u.email } });
    expect(r.body.code).toBe(500);
    const [row] = await env.database.db.select({ id: users.id }).from(users).where(eq(users.account, u.account));
    expect(await env.database.db.select().from(passwordResets).where(eq(passwordResets.userId, row.id))).toEqual([]);
    expect((await forgot(u.email)).body.code).toBe(200); // the slot was released
  });

  test('default outbox transport writes an .eml holding the code', async () => {
    const env = await testEnv();
    const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    const mailer = createMailer({ from: env.config.mailFrom, smtpUrl: null, outboxDir: dir, log: silentLogger });
    const app = env.makeApp({ mailer });
    const u = await newUser('ob');
    expect((await call('POST', '/api/v1/auth/forgot-password', { app, body: { email: u.email } })).body.code).toBe(200);
    const files = readdirSync(dir);
    expect(files.length).toBe(1);
    expect(files[0]).toEndWith('.eml');
    const eml = readFileSync(join(dir, files[0]), 'utf8');
    expect(eml).toContain(`To: ${u.email}`);
    expect((await reset(u.email, resetCodeIn(eml), 'Newpass123')).body.code).toBe(200);
  });
});

describe('change password (POST /api/v1/user/reset-password)', () => {
  const change = (u: TestUser, old_password: string, new_password: string, token = u.token) =>
    call('POST', '/api/v1/user/reset-password', { token, body: { old_password, new_password } });

  test('ends every other session, keeps the one that asked, and returns a fresh token for it (DECISIONS §2)', async () => {
    const u = await newUser('cp');
    const second = (await login(u.account, PASSWORD)).body.data.token;
    const res = await change(u, PASSWORD, 'Changed123');
    expect(res.status).toBe(200);
    expect(res.body.code).toBe(200);
    expect(res.body.message).toBe('成功修改密码');
    const fresh = res.body.data.token;
    expect(res.body.data.token_expire_at).toMatch(/Z$/);
    const r = await me(second);
    expect(r.status).toBe(401);
    expect(r.body.code).toBe(401);
    expect((await me(u.token)).body.code).toBe(200); // the client keeps using the token it had
    expect((await me(fresh)).body.code).toBe(200);
    expect((await login(u.account, 'Changed123')).body.code).toBe(200);
    expect((await login(u.account, PASSWORD)).body.code).toBe(401);
  });

  test('wrong old password is code 401 with HTTP 200 and changes nothing', async () => {
    const u = await newUser('cpw');
    const r = await change(u, 'Wrong1234', 'Changed123');
    expect(r.status).toBe(200);
    expect(r.body.code).toBe(401);
    expect((await me(u.token)).body.code).toBe(200);
    expect((await login(u.account, PASSWORD)).body.code).toBe(200);
  });

  test('weak new password is code 400 naming new_password', async () => {
    const u = await newUser('cpv');
    for (const weak of ['short1', 'lettersonly', '12345678901', 'x'.repeat(200) + '1']) {
      const r = await change(u, PASSWORD, weak);
      expect(r.status).toBe(200);
      expect(r.body.code).toBe(400);
      expect(r.body.message).toContain('new_password');
    }
    const missing = await call('POST', '/api/v1/user/reset-password', { token: u.token, body: { new_password: 'Changed123' } });
    expect(missing.body.code).toBe(400);
    expect(missing.body.message).toContain('old_password');
  });
});

describe('change email (POST /api/v1/user/reset-email)', () => {
  test('changes the email; login by the new address works', async () => {
    const u = await newUser('ce');
    const email = `${uniq('New')}@Example.com`;
    const r = await call('POST', '/api/v1/user/reset-email', { token: u.token, body: { new_email: email } });
    expect(r.body).toEqual({ code: 200, message: '成功修改邮箱', data: { email } });
    expect((await login(email.toLowerCase(), PASSWORD)).body.code).toBe(200);
  });

  test("another user's email in other letter case is code 401", async () => {
    const a = await newUser('cea');
    const b = await newUser('ceb');
    const r = await call('POST', '/api/v1/user/reset-email', { token: a.token, body: { new_email: b.email.toUpperCase() } });
    expect(r.status).toBe(200);
    expect(r.body.code).toBe(401);
    expect((await login(a.email, PASSWORD)).body.code).toBe(200);
  });

  test('bad, missing or too long email is code 400', async () => {
    const u = await newUser('cev');
    for (const body of [{ new_email: 'nope' }, {}, { new_email: `${'a'.repeat(250)}@example.com` }, { new_email: 5 }]) {
      const r = await call('POST', '/api/v1/user/reset-email', { token: u.token, body });
      expect(r.status).toBe(200);
      expect(r.body.code).toBe(400);
      expect(r.body.message).toContain('new_email');
    }
  });
});

describe('bearer token (HTTP 401)', () => {
  const body = { new_email: 'whatever@example.com' };
  const expect401 = async (headers: Record<string, string>) => {
    const r = await call('POST', '/api/v1/user/reset-email', { headers, body });
    expect(r.status).toBe(401);
    expect(r.body.code).toBe(401);
  };

  test('missing or malformed header', async () => {
    await expect401({});
    await expect401({ authorization: 'Basic abc' });
    await expect401({ authorization: 'Bearer' });
    await expect401({ authorization: 'Bearer not.a.jwt' });
  });

  test('tampered token', async () => {
    const u = await newUser('tam');
    const [h, p, s] = u.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.sub = String(Number(claims.sub) + 1);
    await expect401({ authorization: `Bearer ${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}` });
    // the first character of the signature: the last ones carry padding bits, so "…xx" could decode to the same bytes
    await expect401({ authorization: `Bearer ${h}.${p}.${s[0] === 'x' ? 'y' : 'x'}${s.slice(1)}` });
  });

  test('expired token, and one signed with another secret', async () => {
    const env = await testEnv();
    const u = await newUser('expd');
    const claims = JSON.parse(Buffer.from(u.token.split('.')[1], 'base64url').toString());
    const sign = (secret: string) =>
      (jwt({ name: 'jwt', secret }).decorator as any).jwt.sign as (p: object) => Promise<string>;
    const expired = await sign(env.config.jwtSecret)({ sub: claims.sub, sid: claims.sid, exp: Math.floor(Date.now() / 1000) - 5 });
    await expect401({ authorization: `Bearer ${expired}` });
    const valid = await sign(env.config.jwtSecret)({ sub: claims.sub, sid: claims.sid, exp: Math.floor(Date.now() / 1000) + 60 });
    expect((await call('POST', '/api/v1/user/reset-email', { token: valid, body: { new_email: `${uniq()}@example.com` } })).status).toBe(200);
    const foreign = await sign('another-secret-another-secret-another')({ sub: claims.sub, sid: claims.sid, exp: Math.floor(Date.now() / 1000) + 60 });
    await expect401({ authorization: `Bearer ${foreign}` });
  });

  test('a token that was accepted (and is remembered as verified) is refused once it expires', async () => {
    const env = await testEnv();
    const u = await newUser('expl');
    const claims = JSON.parse(Buffer.from(u.token.split('.')[1], 'base64url').toString());
    const sign = (jwt({ name: 'jwt', secret: env.config.jwtSecret }).decorator as any).jwt.sign as (p: object) => Promise<string>;
    const exp = Math.floor(Date.now() / 1000) + 2;
    const short = await sign({ sub: claims.sub, sid: claims.sid, exp });
    const me = () => call('GET', '/api/v1/user/favorite_list', { token: short });
    expect((await me()).status).toBe(200);
    expect((await me()).status).toBe(200);
    await Bun.sleep(exp * 1000 - Date.now() + 50);
    await expect401({ authorization: `Bearer ${short}` });
    expect((await me()).status).toBe(401);
  });
});

test('a protected route without a valid token is HTTP 401 even when the body or path is invalid too', async () => {
  const routes: [string, string, unknown][] = [
    ['POST', '/api/v1/user/reset-email', { new_email: 'not-an-email' }],
    ['POST', '/api/v1/user/reset-password', {}],
    ['POST', '/api/v1/generation', { type: 'nope' }],
    ['POST', '/api/v1/user/favorite_list/batch', { items: [] }],
    ['DELETE', '/api/v1/user/favorite_list/abc', undefined],
    ['GET', '/api/v1/generation/whatever', undefined],
  ];
  for (const [method, path, body] of routes) {
    for (const token of [undefined, 'not.a.token']) {
      const r = await call(method, path, { token, body });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.body.code).toBe(401);
    }
  }
});
