import { Elysia, t } from 'elysia';
import type { Db } from '../../db/client';
import { authGuard, bearer } from '../../http/auth';
import { badRequest, Envelope, ok } from '../../http/envelope';
import { serveFile } from '../../http/files';
import { fileResponses } from '../../http/openapi-doc';
import type { RawBody } from '../../http/guard';
import type { Tokens } from '../../http/tokens';
import * as svc from './service';

const binary = { schema: { type: 'string' as const, format: 'binary' } };

/** Endpoint 12 (upload a reference image) and reading one's own uploads back. */
export const uploadsModule = (d: svc.UploadDeps & { tokens: Tokens; db: Db }) =>
  new Elysia({ tags: ['内容生成 / generation'] })
    .use(authGuard(d.db, d.tokens))
    .post(
      '/api/v1/upload',
      async ({ body, user }) => {
        const { bytes, contentType } = body as RawBody;
        const type = contentType.trim().toLowerCase();
        if (type.startsWith('multipart/form-data')) {
          const file = await svc.fileFromMultipart(bytes, contentType);
          return ok('上传成功', await svc.saveUpload(d, user.id, file, null));
        }
        if (svc.isRawImageType(type)) return ok('上传成功', await svc.saveUpload(d, user.id, bytes, type));
        if (/^(application|text)\/(json|plain)/.test(type)) {
          // an older client build sends the local file path as a JSON string instead of the file
          throw badRequest('参数不合规：file（请上传图片文件本身：multipart/form-data 的 file 字段或图片原始字节，而不是文件路径）');
        }
        throw badRequest('参数不合规：Content-Type 须为 image/png、image/jpeg、image/webp、image/gif 或 multipart/form-data');
      },
      {
        auth: true,
        response: {
          200: Envelope(
            t.Object({
              file_id: t.String({ description: '文件 ID，用于生成任务的 image/images', examples: ['ref_0123456789abcdef0123'] }),
              file_url: t.String({ description: '文件 URL（需 token，仅上传者可读）', examples: ['/uploads/ref_0123456789abcdef0123.png'] }),
            }),
            '200 上传成功; 400 参数不合规 (空文件、格式不支持、Content-Type 与内容不符、损坏、过大、像素过多); 500; HTTP 503 存储服务不可用; HTTP 507 磁盘已满',
          ),
        },
        detail: {
          operationId: 'uploadCreate',
          summary: '上传参考图片 / upload a reference image',
          description:
            '请求体为图片原始字节（Content-Type: image/png|jpeg|webp|gif），或 multipart/form-data 中的一个文件字段（优先字段名 file）。' +
            '服务器检查文件内容（魔数 + 完整解码），默认上限 20 MB、4000 万像素。超过请求体上限返回 HTTP 413。\n\n' +
            'Send the raw image with `Content-Type: image/png|jpeg|webp|gif`, or multipart/form-data with one file ' +
            'field (the one named `file` is preferred). The bytes are checked (magic number and a full decode); ' +
            'a Content-Type that disagrees with them, an empty, truncated, oversized (20 MB) or over-40-MP image is ' +
            'code 400 and nothing is kept. The file belongs to the uploader.',
          security: bearer,
          requestBody: {
            required: true,
            content: {
              'image/png': binary,
              'image/jpeg': binary,
              'image/webp': binary,
              'image/gif': binary,
              'multipart/form-data': {
                schema: { type: 'object' as const, properties: { file: binary.schema }, required: ['file'] },
              },
            },
          },
        },
      },
    )
    .get(
      '/uploads/:name',
      async ({ params, user, request }) => {
        const { object, mime } = await svc.findOwnUpload(d, user.id, params.name);
        return serveFile(object, mime, request.headers.get('range'));
      },
      {
        auth: true,
        params: t.Object({ name: t.String() }),
        detail: {
          operationId: 'uploadGet',
          summary: '读取上传的图片 / read an uploaded image (file_url)',
          description:
            '仅上传者可读；其他情况 HTTP 404。支持 Range（HTTP 206）。对象存储且 S3_REDIRECT=1 时，上传者得到 HTTP 302，Location 为 5 分钟内' +
            '有效的预签名地址。\n\nOnly the uploader may read it; anything else is HTTP 404. Content-Length and Range (206) as ' +
            'for results. With STORAGE=s3 and S3_REDIRECT=1 the uploader gets HTTP 302 to a presigned URL valid for 5 minutes.',
          security: bearer,
          responses: fileResponses(['image/png', 'image/jpeg', 'image/webp', 'image/gif']),
        },
      },
    );
