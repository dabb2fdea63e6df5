// The retry rules every remote provider shares (src/providers/http.ts), against a real local HTTP server.
import { afterAll, expect, test } from 'bun:test';
import { silentLogger } from '../src/logger';
import { downloadOutput, fetchRetrying, retryAfterMs } from '../src/providers/http';
import { ProviderUnavailable } from '../src/providers/types';

let answers: (() => Response)[] = [];
let hits = 0;
const server = Bun.serve({
  port: 0,
  fetch() {
    hits++;
    return (answers.shift() ?? (() => new Response('ok')))();
  },
});
afterAll(() => server.stop(true));
const url = `http://127.0.0.1:${server.port}/x`;
const opts = (over = {}) => ({ signal: new AbortController().signal, log: silentLogger, what: 'test', baseDelayMs: 5, ...over });
const script = (...a: (() => Response)[]) => {
  answers = a;
  hits = 0;
};
const status = (code: number, headers: Record<string, string> = {}) => () => new Response(`{"error":${code}}`, { status: code, headers });

test('idempotent requests: 429 and 5xx are retried until an answer comes', async () => {
  script(status(500), status(503), status(429));
  const res = await fetchRetrying(url, {}, opts());
  expect(res.status).toBe(200);
  expect(hits).toBe(4);
});

test('a submit (not idempotent) is retried after 429 only: a 5xx may mean the job exists, so it is not sent again', async () => {
  script(status(429), status(200));
  expect((await fetchRetrying(url, { method: 'POST' }, opts({ idempotent: false }))).status).toBe(200);
  expect(hits).toBe(2);
  script(status(502));
  expect((await fetchRetrying(url, { method: 'POST' }, opts({ idempotent: false }))).status).toBe(502);
  expect(hits).toBe(1);
});

test('Retry-After is honoured (seconds or an HTTP date); retries are bounded', async () => {
  expect(retryAfterMs('2')).toBe(2000);
  expect(retryAfterMs(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000);
  expect(retryAfterMs('soon')).toBeNull();
  script(status(429, { 'retry-after': '0.2' }));
  const t0 = performance.now();
  await fetchRetrying(url, {}, opts());
  expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  script(status(500), status(500), status(500));
  await expect(fetchRetrying(url, {}, opts({ retries: 2 }))).rejects.toBeInstanceOf(ProviderUnavailable);
  expect(hits).toBe(3);
});

test('an output download over the size limit, or from an expired link, is refused', async () => {
  script(() => new Response(new Uint8Array(2048)));
  await expect(downloadOutput(url, { maxBytes: 1024, timeoutMs: 5000 }, opts())).rejects.toBeInstanceOf(ProviderUnavailable);
  script(status(403));
  await expect(downloadOutput(url, { maxBytes: 1024, timeoutMs: 5000 }, opts())).rejects.toBeInstanceOf(ProviderUnavailable);
  script(() => new Response(new Uint8Array(10), { headers: { 'content-type': 'image/png' } }));
  const ok = await downloadOutput(url, { maxBytes: 1024, timeoutMs: 5000 }, opts());
  expect(ok.bytes.byteLength).toBe(10);
  expect(ok.mime).toBe('image/png');
});
