import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Clock } from '../../clock';
import type { Db } from '../../db/client';
import { files } from '../../db/schema';
import { AppError, badRequest } from '../../http/envelope';
import { notFound, openObject } from '../../http/files';
import { decodeImage, type ImageKind, probeImageSize, sniffImage } from '../../media';
import { type Storage, StorageFullError, StorageUnavailableError } from '../../storage';

export interface UploadDeps {
  db: Db;
  storage: Storage;
  clock: Clock;
  maxBytes: number;
  maxPixels: number;
}

export const MIME: Record<ImageKind, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
};
const EXT: Record<ImageKind, string> = { png: 'png', jpeg: 'jpg', webp: 'webp', gif: 'gif' };
const DECLARED: Record<string, ImageKind> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/pjpeg': 'jpeg',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

export const FILE_ID = /^ref_[0-9a-f]{20}$/;
/** `/uploads/<file_id>.<ext>`, optionally as an absolute URL */
export const FILE_URL = /^(?:https?:\/\/[^/]+)?\/uploads\/(ref_[0-9a-f]{20})\.(png|jpg|webp|gif)$/;

export const isRawImageType = (contentType: string) => contentType.split(';')[0].trim().toLowerCase() in DECLARED;

/**
 * The file of a multipart body: the part named `file` if it is a file, else the first file part. Qt sends a
 * quoted boundary (`boundary="boundary_.oOo._…"`, which may hold `/` and `+`) and a `MIME-Version` header.
 */
export async function fileFromMultipart(bytes: Uint8Array, contentType: string): Promise<Uint8Array> {
  let entries: [string, unknown][];
  try {
    const form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
    entries = [...(form as unknown as Iterable<[string, unknown]>)];
  } catch {
    throw badRequest('参数不合规：multipart 请求体无法解析');
  }
  const isFile = (v: unknown): v is Blob => v instanceof Blob;
  const file = entries.find(([k, v]) => k === 'file' && isFile(v))?.[1] ?? entries.find(([, v]) => isFile(v))?.[1];
  if (!isFile(file)) throw badRequest('参数不合规：file（缺少文件字段）');
  return new Uint8Array(await file.arrayBuffer());
}

/**
 * Checks the bytes (magic number, size, pixel count, a full decode) and stores them. `declaredType` is the
 * raw upload's Content-Type, which must agree with the bytes; multipart parts are judged by bytes alone.
 */
export async function saveUpload(d: UploadDeps, userId: number, bytes: Uint8Array, declaredType: string | null) {
  if (bytes.byteLength === 0) throw badRequest('参数不合规：文件为空');
  if (bytes.byteLength > d.maxBytes) throw badRequest(`参数不合规：文件超过 ${d.maxBytes} 字节`);
  const kind = sniffImage(bytes);
  if (!kind) throw badRequest('参数不合规：不支持的文件格式（仅支持 PNG、JPEG、WebP、GIF）');
  if (declaredType !== null) {
    const declared = DECLARED[declaredType.split(';')[0].trim().toLowerCase()];
    if (declared !== kind) throw badRequest(`参数不合规：Content-Type 与文件内容（${MIME[kind]}）不符`);
  }
  let size: { width: number; height: number };
  try {
    size = probeImageSize(bytes);
  } catch {
    throw badRequest('参数不合规：图片文件已损坏');
  }
  if (size.width * size.height > d.maxPixels) throw badRequest(`参数不合规：图片超过 ${d.maxPixels} 像素`);
  try {
    await decodeImage(bytes);
  } catch {
    throw badRequest('参数不合规：图片无法解码（文件不完整或已损坏）');
  }
  const id = `ref_${randomBytes(10).toString('hex')}`;
  const key = `uploads/${id}.${EXT[kind]}`;
  try {
    await d.storage.put(key, bytes, { type: MIME[kind] });
  } catch (e) {
    if (e instanceof StorageFullError) throw new AppError(507, '服务器存储空间不足，图片未保存，请稍后再试', 507);
    if (e instanceof StorageUnavailableError) throw new AppError(503, '存储服务暂时不可用，图片未保存，请稍后再试', 503);
    throw e;
  }
  try {
    const stored = await d.db.insert(files).values({
      id,
      userId,
      key,
      mime: MIME[kind],
      size: bytes.byteLength,
      width: size.width,
      height: size.height,
      createdAt: d.clock.now(),
    }).returning({ id: files.id });
    if (stored.length !== 1) throw new Error(`upload ${id} was not stored`);
  } catch (e) {
    await d.storage.delete(key).catch(() => {}); // the row's failure is the error to report
    throw e;
  }
  return { file_id: id, file_url: `/${key}` };
}

/** The caller's uploaded file behind `/uploads/<name>`; anything else is 404. */
export async function findOwnUpload(d: Pick<UploadDeps, 'db' | 'storage'>, userId: number, name: string) {
  const m = /^(ref_[0-9a-f]{20})\.(png|jpg|webp|gif)$/.exec(name);
  if (!m) throw notFound();
  const [row] = await d.db
    .select({ key: files.key, mime: files.mime })
    .from(files)
    .where(and(eq(files.id, m[1]), eq(files.userId, userId)));
  if (!row || row.key !== `uploads/${name}`) throw notFound();
  const object = await openObject(d.storage, row.key);
  return { object, mime: row.mime };
}
