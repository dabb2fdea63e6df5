import { expect } from 'bun:test';
import { call } from './http';

/** Creates a task and expects code 200. */
export async function createTask(token: string, body: Record<string, unknown>): Promise<string> {
  const res = await call('POST', '/api/v1/generation', { token, body });
  expect(res.body).toMatchObject({ code: 200 });
  return res.body.data.task_id;
}

/** Polls GET /generation/{id} (as the client does) until the task leaves `processing`. */
export async function waitTask(token: string, taskId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call('GET', `/api/v1/generation/${taskId}`, { token });
    expect(res.body.code).toBe(200);
    if (res.body.data.status !== 'processing') return res.body.data;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still processing after ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}

/** Downloads a result (or upload) url with the token. */
export async function download(token: string | undefined, url: string, headers: Record<string, string> = {}) {
  const res = await call('GET', url, { token, headers });
  return { ...res, bytes: res.body instanceof ArrayBuffer ? new Uint8Array(res.body) : new Uint8Array() };
}

/** Waits until `fn` gives a truthy value (returned), checking every 20 ms; fails after `timeoutMs` naming `what`. */
export async function until<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
