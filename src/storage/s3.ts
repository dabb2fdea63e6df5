// STORAGE=s3: objects in one bucket of an S3-compatible store (AWS S3, MinIO, Cloudflare R2, OSS, COS), through
// Bun's built-in S3 client. A PutObject is atomic on these stores (the object appears only once its whole body
// has arrived), so put() is one PUT of the whole bytes: a failed or interrupted upload leaves nothing under the
// key. Nothing is written to the local disk.
import { S3Client } from 'bun';
import {
  checkKey,
  type Storage,
  StorageNotFoundError,
  StorageUnavailableError,
  type StoredObject,
} from './types';

export interface S3Settings {
  bucket: string;
  /** absent ⇒ AWS, from the region */
  endpoint?: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** the bucket is part of the endpoint's host name (`https://bucket.host`), as OSS and COS want */
  virtualHostedStyle?: boolean;
  /** seconds: owners' downloads are answered with a redirect to a presigned URL valid this long; 0 = stream them */
  redirectSeconds?: number;
}

const codeOf = (e: unknown) => (e as { code?: string })?.code;

const isMissing = (e: unknown) => codeOf(e) === 'NoSuchKey' || codeOf(e) === 'NotFound';

/**
 * Exactly `length` bytes of `source`: a surplus (a server that answers a range with more) is cut and the rest of the
 * download dropped; an early end is an error, so that a reader never takes a short body for the whole.
 */
function exactly(source: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let left = length;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    controller.close();
    reader.cancel().catch(() => {});
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left === 0) return finish(controller);
      const { value, done } = await reader.read();
      if (done) return controller.error(new Error(`object storage: the object ended ${left} bytes early`));
      const chunk = value.byteLength > left ? value.subarray(0, left) : value;
      left -= chunk.byteLength;
      controller.enqueue(chunk);
      if (left === 0) finish(controller);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

export function createS3Storage(s: S3Settings): Storage {
  // only what is set: the config module has already applied the AWS_* fallbacks
  const options: ConstructorParameters<typeof S3Client>[0] = {
    bucket: s.bucket,
    accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey,
  };
  if (s.endpoint) options.endpoint = s.endpoint;
  if (s.region) options.region = s.region;
  if (s.sessionToken) options.sessionToken = s.sessionToken;
  if (s.virtualHostedStyle) options.virtualHostedStyle = true;
  const client = new S3Client(options);
  const redirectSeconds = s.redirectSeconds ?? 0;
  const presign = (key: string, seconds: number) => client.presign(checkKey(key), { expiresIn: seconds, method: 'GET' });

  return {
    kind: 's3',
    async put(key, bytes, opts) {
      checkKey(key);
      try {
        await client.write(key, bytes, opts?.type ? { type: opts.type } : undefined);
      } catch (e) {
        throw new StorageUnavailableError(`writing ${key}`, e);
      }
    },
    async get(key) {
      checkKey(key);
      let size: number;
      try {
        size = (await client.stat(key)).size;
      } catch (e) {
        if (isMissing(e)) return null;
        throw new StorageUnavailableError(`reading ${key}`, e);
      }
      const object: StoredObject = {
        size: async () => size,
        local: false,
        stream: (range) => {
          // always a ranged GET: Bun's unranged S3 stream can stall before its end (oven-sh/bun#38675)
          const { start, end } = range ?? { start: 0, end: size - 1 };
          if (end < start) return new ReadableStream({ start: (c) => c.close() });
          return exactly(client.file(key).slice(start, end + 1).stream(), end - start + 1);
        },
        async bytes(range) {
          const { start, end } = range ?? { start: 0, end: size - 1 };
          const length = end - start + 1;
          if (length <= 0) return new Uint8Array(0);
          let bytes: Uint8Array;
          try {
            bytes = await client.file(key).slice(start, end + 1).bytes();
          } catch (e) {
            if (isMissing(e)) throw new StorageNotFoundError(key);
            throw new StorageUnavailableError(`reading ${key}`, e);
          }
          if (bytes.byteLength < length) throw new StorageUnavailableError(`reading ${key}`, new Error(`${length - bytes.byteLength} bytes short`));
          return bytes.byteLength > length ? bytes.subarray(0, length) : bytes;
        },
        redirectUrl: () => (redirectSeconds > 0 ? presign(key, redirectSeconds) : null),
      };
      return object;
    },
    async read(key) {
      checkKey(key);
      try {
        return await client.file(key).bytes();
      } catch (e) {
        if (isMissing(e)) throw new StorageNotFoundError(key);
        throw new StorageUnavailableError(`reading ${key}`, e);
      }
    },
    async delete(key) {
      checkKey(key);
      try {
        await client.delete(key);
      } catch (e) {
        if (!isMissing(e)) throw new StorageUnavailableError(`deleting ${key}`, e);
      }
    },
    async exists(key) {
      checkKey(key);
      try {
        return await client.exists(key);
      } catch (e) {
        throw new StorageUnavailableError(`looking up ${key}`, e);
      }
    },
    presign,
  };
}
