// A frontend's whole session written against the types that openapi-typescript generates from /swagger/json
// (test/contract/api.gen.d.ts, rewritten by test/contract.test.ts), with openapi-fetch. The contract test
// type-checks this file with `tsc --strict` (it must need no type assertions and no escape hatches) and runs it
// against a real server: register, log in, create a task, poll it, read the history, list and add favorites, and
// the "session expired" branch through the documented HTTP 401 answer.
import createClient from 'openapi-fetch';
import type { components, paths } from './api.gen';

export type Task = components['schemas']['Task'];
export type FavoriteNode = components['schemas']['FavoriteNode'];
type ErrorBody = components['schemas']['ErrorResponse'];
/** The documented HTTP 401 answer of a bearer route: this line does not compile if the document loses it. */
type Expired = paths['/api/v1/user/favorite_list']['get']['responses'][401]['content']['application/json'];

export interface SessionResult {
  account: string;
  task: Task;
  /** task ids of the history, oldest first */
  history: string[];
  root: FavoriteNode;
  /** temp id → new node id of the favorites batch */
  mapping: Record<string, number>;
  favoritesAfter: FavoriteNode[];
  /** the body of the HTTP 401 answer to an expired token */
  expired: ErrorBody;
  /** code and message of a business failure (HTTP 200): logging in with a wrong password */
  wrongPassword: { code: number; message: string };
}

function fail(step: string, detail: unknown): never {
  throw new Error(`${step}: ${JSON.stringify(detail)}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the session against `baseUrl` with a fresh account named after `suffix`. */
export async function runSession(baseUrl: string, suffix: string): Promise<SessionResult> {
  const api = createClient<paths>({ baseUrl });
  const account = `contract_${suffix}`;
  const email = `${account}@example.com`;
  const password = 'User@1234';

  const registered = await api.POST('/api/v1/auth/register', { body: { account, email, password } });
  if (!registered.data || registered.data.code !== 200) fail('register', registered.data ?? registered.error);

  const wrong = await api.POST('/api/v1/auth/login', { body: { account, password: 'Wrong@1234' } });
  if (!wrong.data) fail('login with a wrong password', wrong.error);
  const wrongPassword = { code: wrong.data.code, message: wrong.data.message };

  const login = await api.POST('/api/v1/auth/login', { body: { account, password } });
  if (login.error) fail(`login: HTTP ${login.response.status}`, login.error);
  if (login.data.code !== 200 || !login.data.data) fail('login', login.data);
  const token: string = login.data.data.token;
  const headers = { Authorization: `Bearer ${token}` };

  const created = await api.POST('/api/v1/generation', {
    headers,
    body: { type: 't2i', prompt: 'contract test: a lighthouse', parameters: { width: 64, height: 64, seed: 7 } },
  });
  if (created.error) fail(`create: HTTP ${created.response.status}`, created.error);
  if (created.data.code !== 200 || !created.data.data) fail('create', created.data);
  const taskId: string = created.data.data.task_id;

  let task: Task | undefined;
  for (let i = 0; i < 300 && !task; i++) {
    const polled = await api.GET('/api/v1/generation/{taskId}', { headers, params: { path: { taskId } } });
    if (polled.error) fail(`poll: HTTP ${polled.response.status}`, polled.error);
    const current = polled.data.data;
    if (polled.data.code !== 200 || !current) fail('poll', polled.data);
    switch (current.status) {
      case 'processing':
        await sleep(100);
        break;
      case 'completed':
      case 'failed':
        task = current;
        break;
      default: {
        // every status is handled: the enum leaves nothing here
        const unknownStatus: never = current.status;
        fail('poll: unknown status', unknownStatus);
      }
    }
  }
  if (!task) fail('poll', 'the task did not finish in 30 s');

  const listed = await api.GET('/api/v1/user/generation_list', { headers });
  if (listed.error) fail(`history: HTTP ${listed.response.status}`, listed.error);
  const records = listed.data.data ?? [];
  const history = records.map((r) => r.task_id);

  const tree = await api.GET('/api/v1/user/favorite_list', { headers });
  if (tree.error) fail(`favorites: HTTP ${tree.response.status}`, tree.error);
  const root = (tree.data.data ?? []).find((n) => n.parent_id === null);
  if (!root) fail('favorites: no root', tree.data);

  const referUrl = task.result_url ?? `/generated_outputs/${task.task_id}.png`;
  const batch = await api.POST('/api/v1/user/favorite_list/batch', {
    headers,
    body: {
      items: [
        { temp_id: 2, parent_temp_id: 1, name: 'lighthouse.png', node_type: 'file', refer_url: referUrl },
        { temp_id: 1, parent_id: root.id, name: 'contract', node_type: 'folder' },
      ],
    },
  });
  if (batch.error) fail(`batch: HTTP ${batch.response.status}`, batch.error);
  if (batch.data.code !== 200 || !batch.data.data) fail('batch', batch.data);
  const mapping = batch.data.data.mapping;

  const after = await api.GET('/api/v1/user/favorite_list', { headers });
  if (after.error) fail(`favorites: HTTP ${after.response.status}`, after.error);
  const favoritesAfter = after.data.data ?? [];

  // the session ends (log out); the same token is then refused with the documented HTTP 401 envelope
  const out = await api.POST('/api/v1/auth/logout', { headers });
  if (out.error) fail(`logout: HTTP ${out.response.status}`, out.error);
  const again = await api.GET('/api/v1/user/favorite_list', { headers });
  if (!again.error) fail('expected HTTP 401 after logout', again.data);
  let expired: Expired;
  if (again.response.status === 401) expired = again.error;
  else fail(`expected HTTP 401, got ${again.response.status}`, again.error);

  return { account, task, history, root, mapping, favoritesAfter, expired, wrongPassword };
}
