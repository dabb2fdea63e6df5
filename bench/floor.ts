// The floor: a bare Bun.serve that does only what each benchmarked endpoint must do, with no framework, no
// validation beyond what the answer needs, and postgres.js prepared statements. The project is compared with it
// in the same run against the same database (bench/run.ts). Not part of the product.
//
//   PORT=… DATABASE_URL=postgres://… JWT_SECRET=… bun bench/floor.ts
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import postgres from 'postgres';

const port = Number(process.env.PORT ?? 3999);
const secret = process.env.JWT_SECRET ?? '';
const url = process.env.DATABASE_URL;
if (!url || !secret) {
  console.error('floor: DATABASE_URL and JWT_SECRET are required');
  process.exit(2);
}
const sql = postgres(url, { max: 10, onnotice: () => {} });

const b64url = (buf: Buffer) => buf.toString('base64url');
const hmac = (data: string) => createHmac('sha256', secret).update(data).digest();

/** HS256 verify + exp check; the user id from `sub` and the session from `sid`, or null. */
function verify(header: string | null): { userId: number; sid: string } | null {
  if (!header?.startsWith('Bearer ')) return null;
  const parts = header.slice(7).split('.');
  if (parts.length !== 3) return null;
  const sig = Buffer.from(parts[2], 'base64url');
  const want = hmac(`${parts[0]}.${parts[1]}`);
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    if (typeof payload.exp !== 'number' || payload.exp * 1000 < Date.now()) return null;
    const id = Number(payload.sub);
    return Number.isSafeInteger(id) && id > 0 ? { userId: id, sid: String(payload.sid) } : null;
  } catch {
    return null;
  }
}

const HEADER = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
function sign(userId: number, sid: string): { token: string; exp: number } {
  const exp = Math.floor(Date.now() / 1000) + 7 * 86400;
  const body = `${HEADER}.${b64url(Buffer.from(JSON.stringify({ sub: String(userId), sid, exp })))}`;
  return { token: `${body}.${b64url(hmac(body))}`, exp };
}

// signed_url as the project makes it (src/http/result-links.ts, SIGNED_URL_TTL default 1 h, expiry rounded up to a
// quarter of it), so that both answer the same bytes
const TTL = 3600;
const STEP = TTL / 4;
const linkKey = createHmac('sha256', secret).update('aigc-signed-result-url-v1').digest();
function signed(path: string, sid: string) {
  const exp = String(Math.ceil((Math.floor(Date.now() / 1000) + TTL) / STEP) * STEP);
  return `${path}?exp=${exp}&sid=${sid}&sig=${createHmac('sha256', linkKey).update(`${path}\n${exp}\n${sid}`).digest('hex')}`;
}

/** progress / queue_position while running, canceled, the content review's status: as the project shows them */
function liveFields(t: Record<string, any>, out: Record<string, unknown>) {
  if (t.status === 'processing') {
    if (t.progress !== null) out.progress = t.progress;
    if (t.queue_position !== null) out.queue_position = t.queue_position;
  }
  if (t.canceled) out.canceled = true;
  out.review_status = t.review_status;
  if (t.review_message) out.review_message = t.review_message;
  return out;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const unauthorized = () => json({ code: 401, message: 'token 无效' }, 401);
// the API's timestamps are UTC to the second
const iso = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined);

interface BatchItem {
  temp_id: number;
  parent_id?: number | null;
  parent_temp_id?: number | null;
  name: string;
  node_type: 'folder' | 'file';
  refer_url?: string | null;
}

const server = Bun.serve({
  port,
  hostname: '127.0.0.1',
  async fetch(req) {
    const url = new URL(req.url);
    const path = url.pathname;
    if (path === '/healthz') return json({ code: 200, message: 'ok' });

    if (req.method === 'POST' && path === '/api/v1/auth/login') {
      const { account, password } = (await req.json()) as { account: string; password: string };
      const [user] = await sql`select id, account, email, password_hash from users
        where lower(account) = ${account.toLowerCase()}`;
      if (!user || !(await Bun.password.verify(password, user.password_hash))) {
        return json({ code: 401, message: '账号或密码错误' });
      }
      // a login is a session: one row, its id in the token
      const sid = randomBytes(16).toString('base64url');
      const { token, exp } = sign(user.id, sid);
      await sql`insert into sessions (id, user_id, created_at, last_used_at, expires_at)
        values (${sid}, ${user.id}, now(), now(), ${new Date(exp * 1000)})`;
      return json({
        code: 200,
        message: '登录成功',
        data: { account: user.account, email: user.email, token, token_expire_at: new Date(exp * 1000).toISOString() },
      });
    }

    const who = verify(req.headers.get('authorization'));
    if (who === null) return unauthorized();
    const { userId, sid } = who;

    if (req.method === 'GET' && path.startsWith('/api/v1/generation/')) {
      const id = path.slice('/api/v1/generation/'.length);
      const [t] = await sql`select id, status, created_at, result_url, completed_at, error, progress, queue_position, canceled,
        review_status, review_message from tasks where id = ${id} and user_id = ${userId} and not hidden`;
      if (!t) return json({ code: 400, message: '任务不存在' });
      const data: Record<string, unknown> = { task_id: t.id, status: t.status, created_at: iso(t.created_at) };
      if (t.status === 'completed' && t.result_url) {
        data.result_url = t.result_url;
        data.signed_url = signed(t.result_url, sid);
      }
      if (t.completed_at) data.completed_at = iso(t.completed_at);
      if (t.status === 'failed' && t.error) data.error = t.error;
      return json({
        code: 200,
        message: t.status === 'completed' ? '任务完成' : t.status === 'failed' ? '任务失败' : '任务处理中',
        data: liveFields(t, data),
      });
    }

    if (req.method === 'GET' && path === '/api/v1/user/generation_list') {
      const rows = await sql`select id, created_at, type, prompt, parameters, result_url, status, progress, queue_position,
        canceled, review_status, review_message from tasks where user_id = ${userId} and not hidden order by created_at, id`;
      return json({
        code: 200,
        message: '成功',
        data: rows.map((r) => {
          const item: Record<string, unknown> = {
            task_id: r.id,
            created_at: iso(r.created_at),
            type: r.type,
            prompt: r.prompt,
            parameters: r.parameters,
            result_url: r.result_url,
            status: r.status,
          };
          if (r.status === 'completed' && r.result_url) item.signed_url = signed(r.result_url, sid);
          return liveFields(r, item);
        }),
      });
    }

    if (req.method === 'GET' && path === '/api/v1/user/favorite_list') {
      const rows = await sql`select id, parent_id, name, node_type, refer_url from favorites
        where user_id = ${userId} order by id`;
      return json({
        code: 200,
        message: '成功获取收藏夹列表',
        data: rows.map((r) =>
          r.node_type === 'file'
            ? { id: r.id, parent_id: r.parent_id, name: r.name, node_type: r.node_type, refer_url: r.refer_url }
            : { id: r.id, parent_id: r.parent_id, name: r.name, node_type: r.node_type },
        ),
      });
    }

    if (req.method === 'POST' && path === '/api/v1/user/favorite_list/batch') {
      // Minimal work: check the existing parents are the caller's folders, reserve ids, insert parents before
      // children in one statement. No per-item content validation.
      const { items } = (await req.json()) as { items: BatchItem[] };
      const mapping = await sql.begin(async (tx) => {
        const parents = [...new Set(items.filter((i) => i.parent_id != null).map((i) => i.parent_id as number))];
        const own = await tx`select count(*)::int as n from favorites
          where id = any(${parents}::int[]) and user_id = ${userId} and node_type = 'folder'`;
        if (own[0].n !== parents.length) throw new Error('bad parent');
        const ids = await tx`select nextval(pg_get_serial_sequence('favorites', 'id'))::int as id
          from generate_series(1, ${items.length})`;
        const byTemp = new Map<number, number>();
        items.forEach((it, k) => byTemp.set(it.temp_id, ids[k].id));
        const rows = items.map((it) => ({
          id: byTemp.get(it.temp_id) as number,
          user_id: userId,
          parent_id: it.parent_id ?? (byTemp.get(it.parent_temp_id as number) as number),
          name: it.name,
          node_type: it.node_type,
          refer_url: it.node_type === 'file' ? (it.refer_url ?? null) : null,
        }));
        // the foreign key is checked per statement, so one multi-row insert may hold parents and children
        await tx`insert into favorites ${tx(rows, 'id', 'user_id', 'parent_id', 'name', 'node_type', 'refer_url')}`;
        return Object.fromEntries(byTemp);
      });
      return json({ code: 200, message: '批量创建成功', data: { mapping } });
    }

    return json({ code: 404, message: 'not found' }, 404);
  },
  error(e) {
    return json({ code: 500, message: String(e) }, 500);
  },
});

console.log(`floor listening on http://127.0.0.1:${server.port}`);
const stop = async () => {
  server.stop();
  await sql.end({ timeout: 2 });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
