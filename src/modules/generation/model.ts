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
  { additionalProperties: true, description: '可选参数；未知键原样保存 / optional; unknown keys are kept' },
);

export const CreateBody = t.Object({
  type: TaskType,
  prompt: t.String({ maxLength: 2000, description: '提示词，去除首尾空白后 1–2000 字符', examples: ['sunset over the ocean'] }),
  parameters: t.Optional(Parameters),
  image: t.Optional(Ref),
  images: t.Optional(t.Array(Ref, { maxItems: 16, description: '一组参考图片（file_id 或 file_url）' })),
});

const Echo = {
  task_id: t.String({ examples: ['task_0123456789abcdef0123'] }),
  created_at: Timestamp,
  type: t.String(),
  prompt: t.String(),
  parameters: t.Record(t.String(), t.Unknown()),
};

export const CreateResponse = Envelope(
  t.Object({
    ...Echo,
    image: t.Optional(t.String()),
    images: t.Optional(t.Array(t.String())),
    status: t.String({ description: '新任务总是 processing' }),
  }),
  '200 生成任务已创建; 400 参数不合规 (含参考图片不存在); 500',
);

export const TaskResponse = Envelope(
  t.Object({
    task_id: t.String(),
    status: t.String({ description: 'processing | completed | failed' }),
    created_at: Timestamp,
    result_url: t.Optional(t.String({ examples: ['/generated_outputs/task_0123456789abcdef0123.png'] })),
    completed_at: t.Optional(Timestamp),
    error: t.Optional(t.String({ description: '失败原因（仅 failed）' })),
    ...Live,
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
  }),
  '200 任务已取消; 400 任务不存在或已结束（含他人的任务）; 401 (HTTP 401); 500',
);

export const HistoryResponse = Envelope(
  t.Array(
    t.Object({
      ...Echo,
      result_url: t.Nullable(t.String(), { description: '完成前为 null' }),
      status: t.String({ description: 'processing | completed | failed' }),
      ...Live,
    }),
  ),
  '200 成功; 401 鉴权失败 (HTTP 401); 500',
);

export const HideResponse = Envelope(
  t.Object({ result_url: t.Nullable(t.String()) }),
  '200 删除生成记录成功; 400 记录不存在; 401 鉴权失败 (HTTP 401); 500',
);
