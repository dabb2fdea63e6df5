// POST /api/v1/labels/verify (issue 13): reads the AI-content label of any file (ours or not) and says whether its
// signature is one of ours. No login: anyone who received a file may check it. The file is read, never stored.
import { Elysia, t } from 'elysia';
import { badRequest, Envelope, ok } from '../../http/envelope';
import type { RawBody } from '../../http/guard';
import { inspectLabel } from '../../labels';
import { fileFromMultipart } from '../uploads/service';

export const VERIFY_PATH = '/api/v1/labels/verify';

const binary = { schema: { type: 'string' as const, format: 'binary' } };
const field = (description: string) => t.String({ description });

const LabelFields = t.Object(
  {
    Label: field('"1" = AI 生成 / AI-generated'),
    ContentProducer: field('生成合成服务提供者编码 / the producer code (AIGC_PRODUCER_CODE)'),
    ProduceID: field('内容制作编号（任务 ID）/ the task id'),
    ReservedCode1: field('HMAC-SHA256（hex）/ the signature over the other fields'),
    ContentPropagator: field('传播服务提供者编码 / the propagator code'),
    PropagateID: field('传播编号 / the propagation id'),
    ReservedCode2: field('保留 / reserved'),
  },
  { description: '文件中第一个 AIGC 标识的字段 / the fields of the first label found' },
);

export const VerifyResponse = Envelope(
  t.Object({
    labelled: t.Boolean({ description: '文件含 AIGC 隐式标识 / the file carries an AIGC label' }),
    valid: t.Boolean({ description: '标识签名由本服务签发且字段未被改动 / its HMAC is one of ours over unchanged fields' }),
    format: t.Nullable(t.Union([t.Literal('png'), t.Literal('jpeg'), t.Literal('webp'), t.Literal('mp4')]), {
      description: '识别出的文件格式；不支持的格式为 null / the format read, null when not PNG, JPEG, WebP or MP4',
    }),
    copies: t.Integer({ minimum: 0, description: '标识份数（标准要求一份）/ how many labels the file holds (one is right)' }),
    digital_source_type: t.Nullable(t.String({ description: 'IPTC DigitalSourceType（图片）' })),
    label: t.Nullable(LabelFields),
  }),
  '200 已读取（未含标识时 labelled 为 false）; 400 缺少文件; HTTP 413 文件过大',
);

/** The verify endpoint; `keys` are the label keys a valid signature may come from. */
export const labelsModule = (d: { keys: readonly Uint8Array[] }) =>
  new Elysia({ tags: ['AI 标识 / labels'] }).post(
    VERIFY_PATH,
    async ({ body }) => {
      const { bytes, contentType } = body as RawBody;
      const file = contentType.trim().toLowerCase().startsWith('multipart/form-data') ? await fileFromMultipart(bytes, contentType) : bytes;
      if (file.byteLength === 0) throw badRequest('参数不合规：file（缺少文件）');
      const r = inspectLabel(file, d.keys);
      const message = !r.labelled ? '未发现AI生成内容标识' : r.valid ? '标识有效' : '标识无效或非本服务签发';
      return ok(message, { labelled: r.labelled, valid: r.valid, format: r.format, copies: r.copies, digital_source_type: r.digital_source_type, label: r.label });
    },
    {
      response: { 200: VerifyResponse },
      detail: {
        operationId: 'labelsVerify',
        summary: '校验 AI 生成内容标识 / verify a file\'s AI-content label',
        description:
          '无需登录。请求体为文件原始字节（任意 Content-Type），或 multipart/form-data 的 file 字段。读取 GB 45438-2025 隐式标识' +
          '（PNG/JPEG/WebP 的 XMP `TC260:AIGC`，MP4 的 `AIGC` 元数据项），返回 `labelled`（含标识）与 `valid`（签名为本服务签发且字段未改动）' +
          '及标识字段。文件不会被保存。\n\n' +
          'No login. Send the file as the raw body (any Content-Type) or as the `file` field of multipart/form-data. Reads ' +
          'the GB 45438-2025 implicit label (XMP `TC260:AIGC` in PNG/JPEG/WebP, the `AIGC` metadata item in MP4) and ' +
          'answers `labelled` (a label is present) and `valid` (its HMAC is ours, over unchanged fields) with its fields. ' +
          'Nothing is stored. Limit: LABEL_VERIFY_MAX_BYTES (default 64 MB), HTTP 413 beyond.',
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/octet-stream': binary,
            'image/png': binary,
            'image/jpeg': binary,
            'image/webp': binary,
            'video/mp4': binary,
            'multipart/form-data': { schema: { type: 'object' as const, properties: { file: binary.schema }, required: ['file'] } },
          },
        },
      },
    },
  );
