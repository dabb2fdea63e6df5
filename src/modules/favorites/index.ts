import { Elysia } from 'elysia';
import type { Db } from '../../db/client';
import { authGuard, bearer } from '../../http/auth';
import { jsonResponse, ok } from '../../http/envelope';
import type { Tokens } from '../../http/tokens';
import * as m from './model';
import * as svc from './service';
import type { Clock } from '../../clock';
import { IDEMPOTENCY_HEADER, IdempotencyHeaders, idempotencyScope, REPLAYED_HEADER } from '../../http/idempotency';

/** Endpoints 8, 9, 10, 16: the favorites tree. */
export const favoritesModule = (d: { db: Db; tokens: Tokens; batchMax: number; clock?: Clock }) =>
  new Elysia({ prefix: '/api/v1/user', tags: ['内容管理 / favorites'] })
    .use(authGuard(d.db, d.tokens))
    // A ready Response skips Elysia's per-item response check (~5 ms per 10,000 nodes); the schema documents it.
    .get('/favorite_list', async ({ user }) => jsonResponse(200, ok('成功获取收藏夹列表', await svc.listNodes(d, user.id))), {
      auth: true,
      response: { 200: m.ListResponse },
      detail: {
        operationId: 'favoritesList',
        summary: '获取收藏夹 / list the favorites tree',
        description:
          '以扁平列表返回当前用户的全部节点：根目录（name 为 "/"，parent_id 为 null）在前，其余按 id 升序，' +
          '且每个节点总在其父节点之后（被移动到 id 更大的文件夹下的节点紧随该文件夹）。仅文件节点带 `refer_url`。根目录缺失时会自动重建。\n\n' +
          "The caller's nodes as a flat list: the root (name \"/\", parent_id null) first, then by id, every node " +
          "after its parent (a node moved under a newer folder follows that folder). `refer_url` is present on files only. " +
          'A missing root is re-created.',
        security: bearer,
      },
    })
    .post(
      '/favorite_list',
      async ({ body, user }) => ok('成功创建新收藏内容', { id: await svc.createNode(d, user.id, body) }),
      {
        auth: true,
        parse: 'json', // read by the request guard; documents the body as JSON only
        body: m.CreateBody,
        response: { 200: m.CreateResponse },
        detail: {
          operationId: 'favoritesCreate',
          summary: '新增收藏夹内容 / add a node',
          description:
            '`parent_id` 必须是当前用户的文件夹（文件、他人节点或不存在的 id 均为 code 400）。' +
            '`name` 去除首尾空白后 1–255 个字符且不含控制字符；文件必须提供 `refer_url`（≤ 2048 个字符），' +
            '文件夹忽略 `refer_url`。名称与 url 都不要求唯一。\n\n' +
            "`parent_id` must be one of the caller's folders (a file, another user's node or a missing id is " +
            'code 400). `name`: 1–255 characters after trimming, no control characters. Files need `refer_url` ' +
            '(≤ 2048 characters); folders ignore it. Names and urls need not be unique.',
          security: bearer,
        },
      },
    )
    .delete(
      '/favorite_list/:id',
      async ({ params, user }) => ok('删除收藏夹内容成功', await svc.deleteNode(d, user.id, Number(params.id))),
      {
        auth: true,
        params: m.DeleteParams,
        response: { 200: m.DeleteResponse },
        detail: {
          operationId: 'favoritesDelete',
          summary: '删除收藏夹内容 / delete a node and its subtree',
          description:
            '在一个事务中删除该节点及其整棵子树，返回所有被删除的节点 `{id, name}`：指定的节点在前，' +
            '其余按深度、再按 id 升序。根目录不能删除；他人的或不存在的节点为 code 400。\n\n' +
            'Deletes the node and its whole subtree in one transaction and returns every removed node ' +
            '`{id, name}`: the named node first, then by depth, then by id. The root cannot be deleted; ' +
            "another user's node or a missing id is code 400; a non-numeric id is code 400 (HTTP 200).",
          security: bearer,
        },
      },
    )
    .patch(
      '/favorite_list/:id',
      async ({ params, body, user }) => ok('修改收藏夹内容成功', await svc.updateNode(d, user.id, Number(params.id), body)),
      {
        auth: true,
        parse: 'json', // read by the request guard; documents the body as JSON only
        params: m.UpdateParams,
        body: m.UpdateBody,
        response: { 200: m.UpdateResponse },
        detail: {
          operationId: 'favoritesUpdate',
          summary: '重命名或移动收藏夹内容 / rename or move a node',
          description:
            '提供 `name`（重命名，规则同新增）和/或 `parent_id`（移动到当前用户的另一个文件夹，子树随之移动）。' +
            '根目录不能移动或重命名；新父节点是文件、他人的或不存在的节点、该节点自身或其子孙时为 code 400；' +
            '修改他人的或不存在的节点也是 code 400。返回修改后的节点（与列表中的形式相同）。移动后子节点的 id 可能小于父节点的 id，' +
            '列表仍保证每个节点排在其父节点之后。\n\n' +
            '`name` (rename; the same rules as for adding) and/or `parent_id` (move under another folder of the caller; ' +
            'the subtree moves along). The root cannot be moved or renamed; a file, another user\'s or a missing node, ' +
            'the node itself or one of its descendants as the new parent is code 400, and so is patching another user\'s ' +
            'or a missing node. Returns the node as the list shows it. After a move a child\'s id may be smaller than its ' +
            'parent\'s; the list still puts every node after its parent.',
          security: bearer,
        },
      },
    )
    .post(
      '/favorite_list/batch',
      async ({ body, user, headers, set }) => {
        // Idempotency-Key (issue 14): a replay answers the stored mapping and says so in a header
        const idem = idempotencyScope(user.id, 'POST /api/v1/user/favorite_list/batch', headers[IDEMPOTENCY_HEADER], body);
        const { mapping, replayed } = await svc.createBatch(d, user.id, body.items, idem);
        if (replayed) set.headers[REPLAYED_HEADER] = 'true';
        return ok('批量创建成功', { mapping });
      },
      {
        auth: true,
        headers: IdempotencyHeaders,
        parse: 'json', // read by the request guard; documents the body as JSON only
        body: m.BatchBody(d.batchMax),
        response: { 200: m.BatchResponse },
        detail: {
          operationId: 'favoritesBatch',
          summary: '批量新增收藏夹内容 / add many nodes at once',
          description:
            `一次 1–${d.batchMax} 项，顺序任意。每项有唯一的整数 \`temp_id\`，并且恰好提供 \`parent_id\`` +
            '（当前用户已有的文件夹）或 `parent_temp_id`（本次请求中的文件夹项）之一。重复或悬空的临时 id、' +
            '自引用、循环、以文件为父节点、名称或类型不合规都会使整批失败（code 400，消息指明第一个有问题的项，' +
            '如 "items[3] (temp_id 7): …"），且不写入任何数据。成功时 `mapping` 为 临时 id（字符串键）→ 新 id。\n\n' +
            `1–${d.batchMax} items in any order; each has a unique integer \`temp_id\` and exactly one of ` +
            "`parent_id` (an existing folder of the caller) or `parent_temp_id` (a folder item of this request). " +
            'Duplicate or dangling temp ids, self references, cycles, files as parents, bad names or types ' +
            'reject the whole batch (code 400 naming the first bad item, e.g. "items[3] (temp_id 7): …") and ' +
            'nothing is written. On success `mapping` maps each temp id (a string key) to its new id.\n\n' +
            '请求头 `Idempotency-Key`：24 小时内相同的键与相同的请求体返回第一次的 mapping（`Idempotent-Replayed: true`），不会重复创建；' +
            '相同的键配不同的请求体为 code 400。\n\n' +
            '`Idempotency-Key` header: the same key with the same body within 24 h returns the first mapping ' +
            '(`Idempotent-Replayed: true`) and creates nothing; the same key with another body is code 400.',
          security: bearer,
        },
      },
    );
