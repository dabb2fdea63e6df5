import { t } from 'elysia';
import { Envelope, Timestamp } from '../../http/envelope';
import { TASK_TYPES } from '../../tasks';

export const TaskType = t.Union(
  TASK_TYPES.map((v) => t.Literal(v)),
  { description: 't2i 文生图; i2i 参考图生图; t2v 文生视频; i2v 关键帧生视频' },
);

/** While a task runs (where its provider reports them), and once it is canceled. */
const Live = {
  progress: t.Optional(t.Integer({ minimum: 0, maximum: 100, description: '进度 0–100（运行中且提供方报告时才有）/ progress while running, where known' })),
  queue_position: t.Optional(t.Integer({ minimum: 0, description: '在生成服务队列中的位置（排队中且已知时才有）/ position in the provider\'s queue, where known' })),
  canceled: t.Optional(t.Literal(true, { description: '已被用户取消（此时 status 为 failed，error 为 已取消）/ canceled by its owner' })),
  review_status: t.Union([t.Literal('pending'), t.Literal('approved'), t.Literal('rejected')], {
    description:
      '内容审核：pending（尚无对生成结果的结论：处理中、等待人工审核，或未产生结果即失败）、approved（已通过，结果可下载）、rejected（未通过，结果不保存）\n\n' +
      'Content review: `pending` (no verdict on an output yet: running, held for a person, or failed before any output), ' +
      '`approved` (the result is served), `rejected` (the output was refused and never stored).',
  }),
  review_message: t.Optional(t.String({ description: '审核未通过或等待人工审核的说明 / why the output is held or was refused' })),
};

// Documented as enums; `enum` on a string is not checked at run time, so the answers stay as they were.
const TaskStatus = (description = 'processing | completed | failed') =>
  t.String({ enum: ['processing', 'completed', 'failed'], description, examples: ['completed'] });
const TaskTypeOut = t.String({ enum: [...TASK_TYPES], description: 't2i 文生图; i2i 参考图生图; t2v 文生视频; i2v 关键帧生视频', examples: ['t2i'] });

const Ref = t.String({ minLength: 1, maxLength: 512, description: '上传得到的 file_id 或 file_url' });

/** Known keys are range-checked; unknown keys are kept and passed on (DECISIONS §5). */
export const Parameters = t.Object(
  {
    width: t.Optional(t.Integer({ minimum: 64, maximum: 2048, description: '输出宽度（像素）' })),
    height: t.Optional(t.Integer({ minimum: 64, maximum: 2048, description: '输出高度（像素）' })),
    seed: t.Optional(t.Integer({ minimum: 0, maximum: 4294967295, description: '随机种子；相同种子得到相同结果' })),
    steps: t.Optional(t.Integer({ minimum: 1, maximum: 150 })),
    strength: t.Optional(t.Number({ minimum: 0, maximum: 1, description: 'i2i 效果强度 0–1（默认 0.75）' })),
    duration: t.Optional(t.Number({ minimum: 1, maximum: 10, description: '视频时长（秒），默认 4' })),
    fps: t.Optional(t.Integer({ minimum: 8, maximum: 30, description: '视频帧率，默认 24' })),
    negative_prompt: t.Optional(t.String({ maxLength: 2000 })),
    style: t.Optional(t.String({ maxLength: 100 })),
  },
  {
    additionalProperties: true,
    title: 'GenerationParameters',
    description: '可选参数；未知键原样保存 / optional; unknown keys are kept',
    examples: [{ width: 512, height: 512, seed: 42 }],
  },
);

export const CreateBody = t.Object({
  type: TaskType,
  prompt: t.String({ maxLength: 2000, description: '提示词，去除首尾空白后 1–2000 字符', examples: ['sunset over the ocean'] }),
  parameters: t.Optional(Parameters),
  image: t.Optional(Ref),
  images: t.Optional(t.Array(Ref, { maxItems: 16, description: '一组参考图片（file_id 或 file_url）' })),
}, {
  // what Swagger UI pre-fills: a body that succeeds as it stands
  examples: [{ type: 't2i', prompt: 'sunset over the ocean', parameters: { width: 512, height: 512, seed: 42 } }],
});

const Echo = {
  task_id: t.String({ examples: ['task_0123456789abcdef0123'] }),
  created_at: Timestamp,
  type: TaskTypeOut,
  prompt: t.String({ examples: ['sunset over the ocean'] }),
  parameters: t.Record(t.String(), t.Unknown(), { examples: [{ width: 512, height: 512, seed: 42 }] }),
};

export const CreateResponse = Envelope(
  t.Object({
    ...Echo,
    image: t.Optional(t.String()),
    images: t.Optional(t.Array(t.String())),
    status: TaskStatus('新任务总是 processing / always processing for a new task'),
  }, { title: 'TaskCreated' }),
  '200 生成任务已创建; 400 参数不合规 (含参考图片不存在); 500',
);

/** `result_url` signed for the asking session (issue 14): for `<img src>` / `<video src>`, no token needed. */
const SignedUrl = t.Optional(
  t.String({
    description:
      '已完成结果的签名地址：无需 token 即可读取（可用于 <img src>、<video src>，支持 Range），有效期至少 SIGNED_URL_TTL（默认 1 小时），' +
      '会话结束（退出登录等）即失效；失效或被篡改返回 HTTP 403。`result_url` 仍需 token。\n\n' +
      'The completed result\'s url signed for the asking session: readable without the token (for `<img src>` / ' +
      '`<video src>`, Range supported), valid at least SIGNED_URL_TTL (default 1 h) and only while the session lives; ' +
      'expired or tampered: HTTP 403. `result_url` still needs the token.',
    examples: ['/generated_outputs/task_0123456789abcdef0123.png?exp=1762279200&sid=Q2hhbmdlTWVQbGVhc2U&sig=9f2c…'],
  }),
);

export const TaskResponse = Envelope(
  t.Object({
    task_id: t.String({ examples: ['task_0123456789abcdef0123'] }),
    status: TaskStatus(),
    created_at: Timestamp,
    result_url: t.Optional(t.String({ examples: ['/generated_outputs/task_0123456789abcdef0123.png'] })),
    signed_url: SignedUrl,
    completed_at: t.Optional(Timestamp),
    error: t.Optional(t.String({ description: '失败原因（仅 failed）' })),
    ...Live,
  }, {
    title: 'Task',
    examples: [{
      task_id: 'task_0123456789abcdef0123',
      status: 'completed',
      created_at: '2025-11-04T17:00:00Z',
      result_url: '/generated_outputs/task_0123456789abcdef0123.png',
      completed_at: '2025-11-04T17:00:09Z',
      review_status: 'approved',
    }],
  }),
  '200 任务处理中/任务完成/任务失败; 400 任务不存在或参数不合规; 500',
);

export const CancelResponse = Envelope(
  t.Object({
    task_id: t.String(),
    status: t.Literal('failed'),
    created_at: Timestamp,
    error: t.Literal('已取消'),
    canceled: t.Literal(true),
  }, { title: 'TaskCanceled' }),
  '200 任务已取消; 400 任务不存在或已结束（含他人的任务）; 401 (HTTP 401); 500',
);

/** The envelope plus `next_cursor` beside `data` (paged requests only; `data` stays the list the client reads). */
const withNextCursor = <T extends ReturnType<typeof Envelope>>(e: T) =>
  t.Object({
    ...e.properties,
    next_cursor: t.Optional(
      t.Nullable(
        t.String({
          description:
            '仅分页请求（带 limit 或 cursor）才有：下一页的游标，最后一页为 null / paged requests only: the next page\'s cursor, null on the last page',
          examples: ['MTc2MjI3NTYwMDAwMDAwMC50YXNrXzAxMjM0NTY3ODlhYmNkZWYwMTIz'],
        }),
      ),
    ),
  });

export const HistoryResponse = withNextCursor(Envelope(
  t.Array(
    t.Object({
      ...Echo,
      result_url: t.Nullable(t.String(), { description: '完成前为 null / null until completed' }),
      signed_url: SignedUrl,
      status: TaskStatus(),
      ...Live,
    }, {
      title: 'HistoryRecord',
      examples: [{
        task_id: 'task_0123456789abcdef0123',
        created_at: '2025-11-04T17:00:00Z',
        type: 't2i',
        prompt: 'sunset over the ocean',
        parameters: { width: 512, height: 512, seed: 42 },
        result_url: null,
        status: 'processing',
        review_status: 'pending',
      }],
    }),
  ),
  '200 成功; 400 参数不合规（limit、cursor）; 401 鉴权失败 (HTTP 401); 500',
));

/** The query of a signed result link (`signed_url`); absent with the bearer token. */
export const SignedFileQuery = t.Object({
  exp: t.Optional(t.String({ description: '签名链接的过期时间（unix 秒）/ the signed link\'s expiry (unix seconds)' })),
  sid: t.Optional(t.String({ description: '签名链接所属会话 / the session the link was signed for' })),
  sig: t.Optional(t.String({ description: 'HMAC-SHA256 签名（十六进制）/ the HMAC-SHA256 signature (hex)' })),
});

/** OpenAPI: the answer to a bad signed link. */
export const linkRefusedDoc = {
  description:
    '签名链接过期、被篡改或其会话已结束（与文件是否存在无关）/ the signed link is expired, tampered with or its session ended (whether or not the file exists)',
};

/** GET /user/generation_list?limit=&cursor= */
export const HistoryQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, description: '每页条数 1–100（带 cursor 而无 limit 时为 20）/ records per page, 1–100 (20 when only cursor is given)' })),
  cursor: t.Optional(t.String({ maxLength: 200, description: '上一页返回的 next_cursor（不透明）/ the previous page\'s next_cursor (opaque)' })),
});

export const HideResponse = Envelope(
  t.Object({ result_url: t.Nullable(t.String()) }, { title: 'HiddenRecord' }),
  '200 删除生成记录成功; 400 记录不存在; 401 鉴权失败 (HTTP 401); 500',
);
