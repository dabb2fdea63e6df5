import { Elysia, t } from 'elysia';
import type { Db } from '../../db/client';
import { type AuthUser, authenticate, authGuard, bearer } from '../../http/auth';
import { badRequest, jsonResponse, ok, unauthorized } from '../../http/envelope';
import { quietRequest } from '../../http/access-log';
import { serveFile } from '../../http/files';
import { fileResponses } from '../../http/openapi-doc';
import type { Tokens } from '../../http/tokens';
import { type EventsHub, STREAM_HEADERS } from './events';
import * as m from './model';
import * as svc from './service';
import { IDEMPOTENCY_HEADER, IdempotencyHeaders, idempotencyScope, REPLAYED_HEADER } from '../../http/idempotency';

const FileName = t.Object({ name: t.String({ maxLength: 200 }) });

/** Endpoints 11, 13, 14 (tasks and result files) and 7, 15 (history). */
export const generationModule = (d: svc.GenerationDeps & { tokens: Tokens; db: Db; events: EventsHub }) => {
  // Who reads a result file: the bearer token's user (the desktop client's rule, unchanged) or, for a request without
  // an Authorization header, the session of a correctly signed, unexpired link (signed_url; issue 14). Decided before
  // validation, like the auth macro: no token and no link is HTTP 401, a bad or expired link HTTP 403, whatever the
  // name (the signature is checked before anything is looked up, so the answer never tells whether the file exists).
  const access = new WeakMap<Request, { userId: number } | { sessionId: string }>();
  const fileAccess = async ({ request, params }: { request: Request; params: Record<string, string> }) => {
    const header = request.headers.get('authorization');
    if (header !== null || !d.links) {
      access.set(request, { userId: (await authenticate(d.db, d.tokens, header ?? undefined)).id });
      return;
    }
    const q = new URL(request.url).searchParams;
    if (!q.has('sig')) throw unauthorized();
    const sessionId = d.links.verify(`/generated_outputs/${params.name}`, { exp: q.get('exp'), sid: q.get('sid'), sig: q.get('sig') });
    if (!sessionId) throw svc.linkRefused();
    access.set(request, { sessionId });
  };
  const download = async ({ params, request }: { params: { name: string }; request: Request }) => {
    const who = access.get(request);
    if (!who) throw unauthorized();
    const { object, mime } =
      'userId' in who ? await svc.findOwnResult(d, who.userId, params.name) : await svc.findSignedResult(d, who.sessionId, params.name);
    return serveFile(object, mime, request.headers.get('range'));
  };
  // Without limit/cursor the whole list, as before; with them one page and `next_cursor` beside `data`.
  const historyList = async ({ user, query }: { user: AuthUser; query: { limit?: number; cursor?: string } }) => {
    if (query.limit === undefined && query.cursor === undefined) {
      return new Response(await svc.historyBody(d, user), { headers: { 'content-type': 'application/json; charset=utf-8' } });
    }
    const page = await svc.history(d, user, { limit: query.limit, cursor: query.cursor });
    return jsonResponse(200, { ...ok('成功', page.items), next_cursor: page.nextCursor });
  };
  return new Elysia()
    .use(authGuard(d.db, d.tokens))
    .post('/api/v1/generation', async ({ body, user, headers, set }) => {
      // Idempotency-Key (issue 14): a replay answers the stored `data` and says so in a header
      const idem = idempotencyScope(user.id, 'POST /api/v1/generation', headers[IDEMPOTENCY_HEADER], body);
      const { data, replayed } = await svc.createTask(d, user, body, idem);
      if (replayed) set.headers[REPLAYED_HEADER] = 'true';
      return ok('生成任务已创建', data);
    }, {
      auth: true,
      headers: IdempotencyHeaders,
      // Elysia would coerce an array or a string into an object here; refuse them before validation
      transform({ body }) {
        const p = (body as { parameters?: unknown } | null)?.parameters;
        if (p !== undefined && (typeof p !== 'object' || p === null || Array.isArray(p))) {
          throw badRequest('参数不合规：parameters（应为对象）');
        }
      },
      parse: 'json', // read by the request guard; documents the body as JSON only
      body: m.CreateBody,
      response: { 200: m.CreateResponse },
      detail: {
        tags: ['内容生成 / generation'],
        operationId: 'generationCreate',
        summary: '发起生成任务 / create a generation task',
        description:
          '任务以 processing 状态保存后立即返回，由后台工作进程生成。i2i、i2v 需要参考图片：`image`（一个）和/或 `images`（数组），' +
          '每项为本人上传得到的 file_id 或 file_url。`parameters` 中已知键会做范围检查（width/height 64–2048，seed，steps 1–150，' +
          'strength 0–1，duration 1–10 秒，fps 8–30，negative_prompt，style），未知键原样保存。视频每帧最多 1024×1024。\n\n' +
          'Persists the task as `processing` and returns at once; a worker generates it. i2i and i2v need at least one ' +
          'reference (`image` and/or `images`: the caller\'s file ids or file urls). Known `parameters` keys are range-checked, ' +
          'unknown keys are kept. Results: t2i/i2i PNG (default 1024×1024 / the reference\'s size), t2v/i2v H.264 MP4 ' +
          '(default 4 s at 24 fps, 512×512). Same prompt + seed + parameters ⇒ the same pixels (the file differs by its AI-content label, which names the task). Prompts are reviewed first (MODERATION): a refused prompt is code 400, review unavailable (MODERATION_FAIL=closed) code 503.\n\n' +
          '限额：每个用户同时处理中的任务最多 USER_MAX_ACTIVE_TASKS 个（默认 4），每个 UTC 自然日最多创建 USER_DAILY_TASKS 个（默认不限）；' +
          '超出时 HTTP 200、code 429，带 `Retry-After` 响应头（秒），message 说明何时再试。请求头 `Idempotency-Key`：24 小时内相同的键与相同的' +
          '请求体返回第一次的应答（`Idempotent-Replayed: true`），不会再创建任务；相同的键配不同的请求体为 code 400。\n\n' +
          'Limits: at most USER_MAX_ACTIVE_TASKS tasks of one user in `processing` (default 4) and USER_DAILY_TASKS created per ' +
          'UTC day (default unlimited); beyond them HTTP 200 with code 429, a `Retry-After` header (seconds) and a message ' +
          'saying when to try again. `Idempotency-Key` header: the same key with the same body within 24 h returns the ' +
          'first answer (`Idempotent-Replayed: true`) and queues nothing; the same key with another body is code 400.',
        security: bearer,
      },
    })
    .post(
      '/api/v1/generation/:taskId/cancel',
      async ({ params, user }) => ok('任务已取消', await svc.cancelTask(d, user, params.taskId)),
      {
        auth: true,
        params: t.Object({ taskId: t.String({ maxLength: 100 }) }),
        response: { 200: m.CancelResponse },
        detail: {
          tags: ['内容生成 / generation'],
          operationId: 'generationCancel',
          summary: '取消生成任务 / cancel a task',
          description:
            '仅任务所有者可取消运行中的任务：任务以 `status: "failed"`、`error: "已取消"`、`canceled: true` 结束（客户端只认三种状态），' +
            '正在运行它的实例停止工作并尽可能通知生成服务。他人的、不存在的或已结束的任务返回 code 400。\n\n' +
            'Owner only, while the task runs: it ends `status: "failed"`, `error: "已取消"`, `canceled: true` (the client ' +
            'knows three statuses only); the instance running it stops the work and tells the provider where its API ' +
            'allows. Someone else\'s, an unknown or a finished task: code 400.',
          security: bearer,
        },
      },
    )
    .get(
      '/api/v1/generation/:taskId',
      async ({ params, claims, request }) => {
        const { message, data } = await svc.getTask(d, claims, params.taskId);
        quietRequest(request); // a task answered: its access line at debug level (src/http/access-log.ts)
        return ok(message, data);
      },
      {
        claims: true,
        params: t.Object({ taskId: t.String({ maxLength: 100 }) }),
        response: { 200: m.TaskResponse },
        detail: {
          tags: ['内容生成 / generation'],
          operationId: 'generationGet',
          summary: '查询生成结果 / poll a task',
          description:
            '`status`：processing | completed | failed；完成后有 `result_url` 与 `completed_at`，失败时有 `error`；' +
            '运行中可能带 `progress`（0–100）与 `queue_position`（生成服务报告时）；被取消的任务带 `canceled: true`。' +
            '他人的或不存在的任务返回 code 400。\n\n' +
            'Completed tasks carry `result_url` and `completed_at`, failed ones `error`. While running, `progress` (0–100) ' +
            'and `queue_position` appear where the provider reports them; a canceled task has `canceled: true`. Another ' +
            'user\'s or an unknown task is code 400 (not found).',
          security: bearer,
        },
      },
    )
    .get(
      '/api/v1/generation/:taskId/events',
      async ({ params, claims, request, server }) => {
        const body = await d.events.open(d, claims, params.taskId, request.signal);
        // a quiet stream is not idle: Bun.serve would close it after 10 s without a byte (the heartbeat is 15 s)
        server?.timeout(request, 0);
        return new Response(body, { headers: STREAM_HEADERS });
      },
      {
        claims: true,
        params: t.Object({ taskId: t.String({ maxLength: 100 }) }),
        detail: {
          tags: ['内容生成 / generation'],
          operationId: 'generationEvents',
          summary: '任务实时事件（SSE）/ live task events (server-sent events)',
          description:
            '`text/event-stream`：连接后立即发送一条事件（任务当前状态），之后任务每次变化（status、`progress`、`queue_position`）' +
            '发送一条；每条事件的 `data:` 行与轮询接口 `GET /api/v1/generation/{taskId}` 的 `data` 完全相同（JSON）。' +
            '任务 completed 或 failed 的事件发出后服务器结束该流。每 15 秒发送一行注释 `: ping` 作为心跳，防止代理断开空闲连接。' +
            '读取慢的客户端只会收到最新状态（中间的进度可能被合并），最终状态一定送达。会话结束（退出登录、修改密码）后，' +
            '流最迟在下一次心跳时关闭。需要 Bearer token，浏览器的 EventSource 无法携带请求头，请用 fetch 读取流' +
            '（示例见 docs/api-notes.md）。他人的或不存在的任务返回 JSON 信封 code 400（HTTP 200），不会打开流；' +
            'token 缺失或无效返回 HTTP 401。\n\n' +
            '`text/event-stream`: one event at once with the task\'s current state, then one per change (status, `progress`, ' +
            '`queue_position`); each `data:` line is exactly the JSON `data` of the poll `GET /api/v1/generation/{taskId}`. ' +
            'The server ends the stream after the `completed` or `failed` event. A comment line `: ping` every 15 s keeps ' +
            'proxies from closing the connection. A client that reads slowly gets the latest state (intermediate progress ' +
            'may be merged); the final state is always delivered. When the session ends (logout, password change) the stream ' +
            'is closed at the next heartbeat at the latest. Needs the bearer token: the browser\'s EventSource cannot send ' +
            'headers, so read the stream with fetch (example in docs/api-notes.md). Another user\'s or an unknown task is the ' +
            'JSON envelope with code 400 (HTTP 200) and no stream; a missing or bad token is HTTP 401.',
          security: bearer,
          responses: {
            200: {
              description:
                '事件流，或任务不存在时的 JSON 信封（code 400）/ the event stream, or the JSON envelope (code 400) for an unknown task',
              content: {
                'text/event-stream': {
                  schema: {
                    type: 'string',
                    description: '`data: <与轮询 data 相同的 JSON / the poll\'s data as JSON>` 事件，以空行分隔；`: ping` 心跳注释',
                  },
                  example:
                    'data: {"task_id":"task_0123456789abcdef0123","status":"processing","created_at":"2025-11-04T17:00:00Z","progress":40}\n\n' +
                    ': ping\n\n' +
                    'data: {"task_id":"task_0123456789abcdef0123","status":"completed","created_at":"2025-11-04T17:00:00Z","result_url":"/generated_outputs/task_0123456789abcdef0123.png","completed_at":"2025-11-04T17:00:09Z"}\n\n',
                },
                'application/json': { schema: { $ref: '#/components/schemas/GenerationGetResponse' } },
              },
            },
            401: { description: 'token 缺失、无效、过期或已撤销 / missing, bad, expired or revoked token' },
          },
        },
      },
    )
    .get('/generated_outputs/:name', download, {
      transform: fileAccess,
      params: FileName,
      query: m.SignedFileQuery,
      detail: {
        tags: ['内容生成 / generation'],
        operationId: 'generationResult',
        summary: '获取生成结果 / download a result (result_url)',
        description:
          '需要 token，仅任务所有者可读；支持 Range（HTTP 206）。他人的、已删除记录的或不存在的文件返回 HTTP 404。' +
          '对象存储且 S3_REDIRECT=1 时，所有者得到 HTTP 302，Location 为 5 分钟内有效的预签名地址（客户端须跟随重定向）。\n\n' +
          'Bearer token required; owner only. Returns image/png or video/mp4 with Content-Length; `Range: bytes=a-b` ' +
          'gives HTTP 206 (416 when unsatisfiable). Someone else\'s file, a hidden record\'s file or an unknown name: HTTP 404. ' +
          'With STORAGE=s3 and S3_REDIRECT=1 the owner gets HTTP 302 to a presigned URL valid for 5 minutes instead ' +
          '(the client must follow redirects).\n\n' +
          '浏览器可不带 token，改用轮询/历史返回的 `signed_url`（查询参数 exp、sid、sig）；链接过期、被篡改或会话已结束返回 HTTP 403（与文件是否存在无关）。\n\n' +
          'Browsers may instead use the `signed_url` of the poll or the history (query `exp`, `sid`, `sig`) without the ' +
          'token; an expired or tampered link, or one whose session has ended, is HTTP 403 whether or not the file exists.',
        security: [...bearer, {}],
        responses: fileResponses(['image/png', 'video/mp4'], { 403: m.linkRefusedDoc }),
      },
    })
    // The newer desktop build puts /api/v1 in front of every path that does not start with `outputs` (DECISIONS §9)
    .get('/api/v1/generated_outputs/:name', download, {
      transform: fileAccess,
      params: FileName,
      query: m.SignedFileQuery,
      detail: {
        tags: ['内容生成 / generation'],
        operationId: 'generationResultV1',
        summary: '获取生成结果（/api/v1 前缀）/ download a result under /api/v1',
        description:
          '与 `GET /generated_outputs/{name}` 完全相同（同一文件、所有者规则、Range 与 404），供在路径前加 /api/v1 的客户端使用。\n\n' +
          'Exactly the same as `GET /generated_outputs/{name}` (same file, owner rule, Range support and 404s), for ' +
          'clients that put /api/v1 in front of the result url. Signed links (`signed_url`) work here too.',
        security: [...bearer, {}],
        responses: fileResponses(['image/png', 'video/mp4'], { 403: m.linkRefusedDoc }),
      },
    })
    // A ready Response skips Elysia's per-record response check (1,000 records: about a third of the time); the
    // schema documents the shape and the tests check it.
    .get('/api/v1/user/generation_list', historyList, {
      auth: true,
      query: m.HistoryQuery,
      response: { 200: m.HistoryResponse },
      detail: {
        tags: ['内容管理 / history'],
        operationId: 'historyList',
        summary: '获取历史生成记录 / history',
        description:
          '本人未删除的记录，按创建时间升序（早的在前）；附加 `status`，未完成的 `result_url` 为 null；已完成的带 `signed_url`。' +
          '不带参数时返回全部记录（与规范及客户端一致）；带 `limit`（1–100）和/或 `cursor` 时分页：`data` 仍为本页记录数组，' +
          '信封顶层的 `next_cursor` 为下一页游标（最后一页为 null），原样传回 `cursor` 取下一页。无效的 limit 或 cursor 返回 code 400。\n\n' +
          'The caller\'s visible records, oldest first, with `status` added; `result_url` is null until completed; ' +
          'completed ones carry `signed_url`. Without parameters: the whole list (the spec, and what the client expects). ' +
          'With `limit` (1–100) and/or `cursor`: one page; `data` is still the list, and `next_cursor` beside it (top ' +
          'level of the envelope) is the next page\'s cursor, null on the last page. A bad limit or cursor is code 400.',
        security: bearer,
      },
    })
    .post(
      '/api/v1/user/generation_list',
      async ({ body, user }) => ok('删除生成记录成功', await svc.hideRecord(d, user, { resultUrl: body.result_url })),
      {
        auth: true,
        parse: 'json', // read by the request guard; documents the body as JSON only
        body: t.Object({ result_url: t.String({ minLength: 1, maxLength: 2048, examples: ['/generated_outputs/task_0123456789abcdef0123.png'] }) }),
        response: { 200: m.HideResponse },
        detail: {
          tags: ['内容管理 / history'],
          operationId: 'historyHide',
          summary: '删除生成记录（按 result_url）/ hide a record by its result url',
          description:
            '令该记录对本人不可见，并在同一事务中删除本人收藏夹里 refer_url 等于该 url 的文件节点。未知 url 返回 code 400。\n\n' +
            'Hides the record from the caller and, in the same transaction, removes the caller\'s favorite file nodes whose ' +
            '`refer_url` equals that url. The url may be the path or an absolute URL. Unknown url: code 400.',
          security: bearer,
        },
      },
    )
    .delete(
      '/api/v1/user/generation_list/:task_id',
      async ({ params, user }) => ok('删除生成记录成功', await svc.hideRecord(d, user, { taskId: params.task_id })),
      {
        auth: true,
        params: t.Object({ task_id: t.String({ maxLength: 100 }) }),
        response: { 200: m.HideResponse },
        detail: {
          tags: ['内容管理 / history'],
          operationId: 'historyDelete',
          summary: '删除生成记录（按 task_id）/ hide a record by task id',
          description:
            '与 POST 形式含义相同（新版客户端使用）。未知或他人的 task_id 返回 code 400。\n\n' +
            'Same meaning as the POST form (the newer client sends this). Unknown or someone else\'s id: code 400.',
          security: bearer,
        },
      },
    );
};
