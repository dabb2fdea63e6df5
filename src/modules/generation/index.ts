import { Elysia, t } from 'elysia';
import type { Db } from '../../db/client';
import { type AuthUser, authGuard, bearer } from '../../http/auth';
import { badRequest, jsonResponse, ok } from '../../http/envelope';
import { serveFile } from '../../http/files';
import type { Tokens } from '../../http/tokens';
import * as m from './model';
import * as svc from './service';

const FileName = t.Object({ name: t.String({ maxLength: 200 }) });

/** Endpoints 11, 13, 14 (tasks and result files) and 7, 15 (history). */
export const generationModule = (d: svc.GenerationDeps & { tokens: Tokens; db: Db }) => {
  const download = async ({ params, user, request }: { params: { name: string }; user: AuthUser; request: Request }) => {
    const { file, mime } = await svc.findOwnResult(d, user.id, params.name);
    return serveFile(file, mime, request.headers.get('range'));
  };
  return new Elysia()
    .use(authGuard(d.db, d.tokens))
    .post('/api/v1/generation', async ({ body, user }) => ok('生成任务已创建', await svc.createTask(d, user, body)), {
      auth: true,
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
        summary: '发起生成任务 / create a generation task',
        description:
          '任务以 processing 状态保存后立即返回，由后台工作进程生成。i2i、i2v 需要参考图片：`image`（一个）和/或 `images`（数组），' +
          '每项为本人上传得到的 file_id 或 file_url。`parameters` 中已知键会做范围检查（width/height 64–2048，seed，steps 1–150，' +
          'strength 0–1，duration 1–10 秒，fps 8–30，negative_prompt，style），未知键原样保存。视频每帧最多 1024×1024。\n\n' +
          'Persists the task as `processing` and returns at once; a worker generates it. i2i and i2v need at least one ' +
          'reference (`image` and/or `images`: the caller\'s file ids or file urls). Known `parameters` keys are range-checked, ' +
          'unknown keys are kept. Results: t2i/i2i PNG (default 1024×1024 / the reference\'s size), t2v/i2v H.264 MP4 ' +
          '(default 4 s at 24 fps, 512×512). Same prompt + seed + parameters ⇒ the same bytes.',
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
      async ({ params, claims }) => {
        const { message, data } = await svc.getTask(d, claims, params.taskId);
        return ok(message, data);
      },
      {
        claims: true,
        params: t.Object({ taskId: t.String({ maxLength: 100 }) }),
        response: { 200: m.TaskResponse },
        detail: {
          tags: ['内容生成 / generation'],
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
    .get('/generated_outputs/:name', download, {
      auth: true,
      params: FileName,
      detail: {
        tags: ['内容生成 / generation'],
        summary: '获取生成结果 / download a result (result_url)',
        description:
          '需要 token，仅任务所有者可读；支持 Range（HTTP 206）。他人的、已删除记录的或不存在的文件返回 HTTP 404。\n\n' +
          'Bearer token required; owner only. Returns image/png or video/mp4 with Content-Length; `Range: bytes=a-b` ' +
          'gives HTTP 206 (416 when unsatisfiable). Someone else\'s file, a hidden record\'s file or an unknown name: HTTP 404.',
        security: bearer,
      },
    })
    // The newer desktop build puts /api/v1 in front of every path that does not start with `outputs` (DECISIONS §9)
    .get('/api/v1/generated_outputs/:name', download, {
      auth: true,
      params: FileName,
      detail: {
        tags: ['内容生成 / generation'],
        summary: '获取生成结果（/api/v1 前缀）/ download a result under /api/v1',
        description:
          '与 `GET /generated_outputs/{name}` 完全相同（同一文件、所有者规则、Range 与 404），供在路径前加 /api/v1 的客户端使用。\n\n' +
          'Exactly the same as `GET /generated_outputs/{name}` (same file, owner rule, Range support and 404s), for ' +
          'clients that put /api/v1 in front of the result url.',
        security: bearer,
      },
    })
    // A ready Response skips Elysia's per-record response check (1,000 records: about a third of the time); the
    // schema documents the shape and the tests check it.
    .get('/api/v1/user/generation_list', async ({ user }) => jsonResponse(200, ok('成功', await svc.history(d, user))), {
      auth: true,
      response: { 200: m.HistoryResponse },
      detail: {
        tags: ['内容管理 / history'],
        summary: '获取历史生成记录 / history',
        description:
          '本人未删除的记录，按创建时间升序（早的在前）；附加 `status`，未完成的 `result_url` 为 null。\n\n' +
          'The caller\'s visible records, oldest first, with `status` added; `result_url` is null until completed.',
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
          summary: '删除生成记录（按 task_id）/ hide a record by task id',
          description:
            '与 POST 形式含义相同（新版客户端使用）。未知或他人的 task_id 返回 code 400。\n\n' +
            'Same meaning as the POST form (the newer client sends this). Unknown or someone else\'s id: code 400.',
          security: bearer,
        },
      },
    );
};
