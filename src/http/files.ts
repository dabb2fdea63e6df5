import { type ByteRange, type Storage, StorageNotFoundError, StorageUnavailableError, type StoredObject } from '../storage/types';
import { AppError } from './envelope';

export const notFound = () => new AppError(404, '文件不存在', 404);
/** The object store cannot be reached: a server-side failure, not a bug (HTTP 503, code 503). */
export const storageDown = () => new AppError(503, '存储服务暂时不可用，请稍后再试', 503);

/** The stored object under `key` for a download: HTTP 404 when there is none, 503 when the store is down. */
export async function openObject(storage: Storage, key: string): Promise<StoredObject> {
  let object: StoredObject | null;
  try {
    object = await storage.get(key);
  } catch (e) {
    if (e instanceof StorageUnavailableError) throw storageDown();
    throw e;
  }
  if (!object) throw notFound();
  return object;
}

/**
 * Bun's server (1.4) drops the Content-Length that a handler sets on a streamed body and sends it chunked
 * (oven-sh/bun#10507); only a local file's stream keeps it. So a body from a network store (S3) up to this size is
 * read into memory and sent as bytes, with its Content-Length (held while it is sent); a bigger one is streamed, and
 * goes out chunked without Content-Length. S3_REDIRECT=1 avoids both.
 */
export const BUFFER_MAX = 64 * 1024 * 1024;

async function bodyOf(object: StoredObject, range: ByteRange, bufferMax: number): Promise<ReadableStream<Uint8Array> | Uint8Array> {
  if (object.local || range.end - range.start + 1 > bufferMax) return object.stream(range);
  try {
    return await object.bytes(range);
  } catch (e) {
    if (e instanceof StorageNotFoundError) throw notFound(); // deleted since it was looked up
    if (e instanceof StorageUnavailableError) throw storageDown();
    throw e;
  }
}

/**
 * A stored object as the response, the same on every storage driver: Content-Type, Content-Length,
 * `Accept-Ranges: bytes`, a single `Range: bytes=a-b` / `a-` / `-n` as HTTP 206 or HTTP 416 when unsatisfiable.
 * Where the storage hands out its own short-lived URL (S3 with S3_REDIRECT=1), HTTP 302 to it instead.
 */
export async function serveFile(
  object: StoredObject,
  mime: string,
  range: string | null | undefined,
  bufferMax = BUFFER_MAX,
): Promise<Response> {
  const redirect = object.redirectUrl();
  if (redirect) {
    // the URL is good for a few minutes: no cache may keep the redirect longer
    return new Response(null, { status: 302, headers: { location: redirect, 'cache-control': 'no-store' } });
  }
  const size = await object.size();
  const base = { 'content-type': mime, 'accept-ranges': 'bytes', 'cache-control': 'private, max-age=3600' };
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let start = NaN;
    let end = NaN;
    if (m && (m[1] || m[2])) {
      if (m[1]) {
        start = Number(m[1]);
        end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      } else {
        start = Math.max(0, size - Number(m[2])); // the last N bytes
        end = size - 1;
      }
    }
    if (!(start <= end && start < size)) {
      return new Response(null, { status: 416, headers: { ...base, 'content-range': `bytes */${size}` } });
    }
    return new Response(await bodyOf(object, { start, end }, bufferMax), {
      status: 206,
      headers: { ...base, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) },
    });
  }
  const body = size === 0 ? null : await bodyOf(object, { start: 0, end: size - 1 }, bufferMax);
  return new Response(body, { headers: { ...base, 'content-length': String(size) } });
}
