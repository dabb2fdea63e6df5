// A real S3-compatible server for the tests: s3rver (npm), in this process, on a free port, one bucket, its data in a
// temp dir. Bun's S3 client speaks to it as to AWS (signatures checked, ranged GETs, presigned URLs, HEAD, DELETE).
//
// One fidelity fix: s3rver writes a PUT's body straight into the object's file as it arrives and keeps whatever
// arrived when the connection drops, so an interrupted upload would leave half an object under the key. AWS S3,
// MinIO, R2, OSS and COS never do (an object exists only once its whole declared Content-Length has arrived).
// The atomicity tests are about our driver, not about s3rver: its store gets S3's rule back here (the body is
// received in full and checked against Content-Length, then renamed into place; otherwise IncompleteBody).
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import S3rver from 's3rver';
import S3Error from 's3rver/lib/models/error.js';
import { createS3Storage, type S3Settings } from '../../src/storage/s3';

export interface TestS3 {
  endpoint: string;
  port: number;
  bucket: string;
  /** what createS3Storage takes */
  settings: S3Settings;
  /** STORAGE=s3 and the S3_* variables, for a spawned server or loadConfig */
  env: Record<string, string>;
  /** where s3rver keeps the objects */
  dir: string;
  /** the keys of every object in the bucket */
  keys(): string[];
  stop(): Promise<void>;
}

interface Incoming {
  bucket: string;
  key: string;
  content: NodeJS.ReadableStream | Buffer;
  metadata: Record<string, string>;
}

/** The whole body, or IncompleteBody when the connection ended before its Content-Length. */
async function receive(object: Incoming): Promise<Buffer> {
  if (Buffer.isBuffer(object.content)) return object.content;
  const stream = object.content;
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
    stream.on('aborted', () => reject(new S3Error('IncompleteBody', 'The request body ended early.')));
    stream.on('close', resolve); // the length check below tells a complete body from a cut one
  });
  const body = Buffer.concat(chunks);
  const declared = Number(object.metadata['content-length']);
  if (Number.isFinite(declared) && body.length !== declared) {
    throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
  }
  return body;
}

export async function startS3(bucket = 'aigc-test'): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
  const store = (server as unknown as { store: Record<string, (...a: never[]) => unknown> }).store as unknown as {
    getResourcePath(bucket: string, key: string, resource: string): string;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
    putObject(object: Incoming): Promise<{ size: number; md5: string }>;
  };
  store.putObject = async (object) => {
    const body = await receive(object);
    const path = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.incoming-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(tmp, body);
      const md5 = createHash('md5').update(body).digest('hex');
      await store.putMetadata(object.bucket, object.key, object.metadata, md5);
      await rename(tmp, path);
      return { size: body.length, md5 };
    } finally {
      await rm(tmp, { force: true });
    }
  };
  const address = (await server.run()) as { port: number };
  // a dropped upload is a client error that Node's HTTP server would print; it is what the tests do on purpose
  (server as unknown as { httpServer: net.Server }).httpServer.on('clientError', (_e: Error, socket: net.Socket) => socket.destroy());
  const endpoint = `http://127.0.0.1:${address.port}`;
  const settings: S3Settings = { bucket, endpoint, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    endpoint,
    port: address.port,
    bucket,
    settings,
    env: {
      STORAGE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
    },
    dir,
    keys: () =>
      readdirSync(join(dir, bucket), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('._S3rver_object'))
        .map((f) => f.slice(0, -'._S3rver_object'.length))
        .sort(),
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const s3Storage = (s3: TestS3, over: Partial<S3Settings> = {}) => createS3Storage({ ...s3.settings, ...over });

/**
 * A TCP proxy in front of `port` that passes each connection's first `cutAfter` request bytes, then drops the
 * connection (a network failure in the middle of an upload); with `bytesPerTick`, it passes the bytes slowly
 * (that many every 10 ms), so that a writer can be killed half-way. `forwarded` counts what reached the server.
 */
export async function startProxy(port: number, o: { cutAfter?: number; bytesPerTick?: number } = {}) {
  const cutAfter = o.cutAfter ?? Infinity;
  const stats = { forwarded: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let sent = 0;
    const queue: Buffer[] = [];
    let timer: ReturnType<typeof setInterval> | undefined;
    const forward = (d: Buffer) => {
      if (sent >= cutAfter) return;
      const part = d.subarray(0, cutAfter - sent);
      sent += part.length;
      stats.forwarded += part.length;
      upstream.write(part);
      if (sent >= cutAfter) setTimeout(() => (upstream.destroy(), client.destroy()), 20);
    };
    if (o.bytesPerTick) {
      timer = setInterval(() => {
        let budget = o.bytesPerTick!;
        while (budget > 0 && queue.length) {
          const head = queue[0];
          const part = head.subarray(0, budget);
          budget -= part.length;
          if (part.length === head.length) queue.shift();
          else queue[0] = head.subarray(part.length);
          forward(part);
        }
      }, 10);
    }
    client.on('data', (d: Buffer) => (o.bytesPerTick ? queue.push(d) : forward(d)));
    upstream.on('data', (d) => client.write(d));
    const end = () => {
      clearInterval(timer);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stats,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
