import { t } from 'elysia';
import { Envelope } from '../../http/envelope';

export const NAME_MAX = 255;
export const REFER_URL_MAX = 2048;
export const NODE_TYPES = ['folder', 'file'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

// Content rules (trimming, length in characters, control characters, node_type values, refer_url on files) are
// checked by the service so that a batch can name its first bad item; the schemas below check JSON types only
// and document the rules.
const Id = (description: string) => t.Integer({ description, examples: [1] });
const NodeTypeField = t.String({
  enum: [...NODE_TYPES],
  description: '节点类型 / node type: `folder` | `file`',
  examples: ['file'],
});
const NameField = t.String({
  description:
    '名称：去除首尾空白后 1–255 个字符，不含控制字符；保存去除空白后的值 / ' +
    'name: 1–255 characters after trimming, no control characters; stored trimmed',
  examples: ['example.png'],
});
const ReferUrlField = t.Optional(
  t.Nullable(
    t.String({
      description:
        '文件的 url（文件必填，1–2048 个字符，任意字符串；文件夹忽略此字段）/ ' +
        'url of a file (required for files, 1–2048 characters, any string; ignored for folders)',
      examples: ['/generated_outputs/example.png'],
    }),
  ),
);

export const FavoriteNode = t.Object({
  id: t.Integer({ description: '节点标识 / node id' }),
  parent_id: t.Nullable(t.Integer({ description: '父节点标识；根节点为 null / parent id; null for the root' })),
  name: t.String({ description: '名称；根节点为 "/" / name; the root is "/"' }),
  node_type: t.String({ enum: [...NODE_TYPES], description: '`folder` | `file`' }),
  refer_url: t.Optional(t.String({ description: '仅文件节点有此字段 / present on files only' })),
}, {
  title: 'FavoriteNode',
  examples: [
    { id: 1, parent_id: null, name: '/', node_type: 'folder' },
    { id: 2, parent_id: 1, name: 'example.png', node_type: 'file', refer_url: '/generated_outputs/task_0123456789abcdef0123.png' },
  ],
});
export const ListResponse = Envelope(t.Array(FavoriteNode), '200 成功获取收藏夹列表; 401 (HTTP 401 = token 无效); 500');

export const CreateBody = t.Object({
  parent_id: Id('父节点标识：当前用户的一个文件夹 / parent: one of the caller\'s folders'),
  name: NameField,
  node_type: NodeTypeField,
  refer_url: ReferUrlField,
});
export const CreateResponse = Envelope(
  t.Object({ id: t.Integer({ description: '新节点的标识 / id of the new node', examples: [32] }) }, { title: 'FavoriteCreated' }),
  '200 成功创建新收藏内容; 400 参数不合规（含父节点不存在、父节点是文件）; 500 (HTTP 401 = token 无效)',
);

export const DeleteParams = t.Object({
  id: t.String({
    pattern: '^[1-9][0-9]{0,9}$',
    description: '要删除的节点标识（正整数）/ id of the node to delete (a positive integer)',
    examples: ['2'],
  }),
});
export const DeleteResponse = Envelope(
  t.Array(t.Object({ id: t.Integer({ examples: [2] }), name: t.String({ examples: ['example.png'] }) }, { title: 'FavoriteRemoved' })),
  '200 删除收藏夹内容成功; 400 参数不合规（含节点不存在、根目录不能删除）; 500 (HTTP 401 = token 无效)',
);

export const UpdateParams = t.Object({
  id: t.String({
    pattern: '^[1-9][0-9]{0,9}$',
    description: '要修改的节点标识（正整数）/ id of the node to rename or move (a positive integer)',
    examples: ['2'],
  }),
});
export const UpdateBody = t.Object({
  name: t.Optional(NameField),
  parent_id: t.Optional(
    Id('新的父节点：当前用户的一个文件夹，不能是该节点自身或其子孙 / the new parent: one of the caller\'s folders, not the node or one of its descendants'),
  ),
});
export const UpdateResponse = Envelope(
  FavoriteNode,
  '200 修改收藏夹内容成功; 400 参数不合规（含节点不存在、根目录不能移动或重命名、目标不是文件夹、移动到自身子树）; 500 (HTTP 401 = token 无效)',
);

export const BatchItem = t.Object({
  temp_id: Id('客户端给出的临时标识，在请求中唯一 / temporary id chosen by the client, unique in the request'),
  parent_id: t.Optional(
    t.Nullable(Id('已存在的父文件夹标识（与 parent_temp_id 二选一）/ an existing folder (exclusive with parent_temp_id)')),
  ),
  parent_temp_id: t.Optional(
    t.Nullable(
      Id('本次请求中某个文件夹项的 temp_id（与 parent_id 二选一）/ temp_id of a folder item of this request'),
    ),
  ),
  name: NameField,
  node_type: NodeTypeField,
  refer_url: ReferUrlField,
}, { title: 'FavoriteBatchItem' });
export type BatchItemInput = (typeof BatchItem)['static'];

export const BatchBody = (batchMax: number) =>
  t.Object({
    items: t.Array(BatchItem, {
      minItems: 1,
      maxItems: batchMax,
      description: `1–${batchMax} 项，顺序任意 / 1–${batchMax} items in any order`,
    }),
  });
export const BatchResponse = Envelope(
  t.Object({
    mapping: t.Record(t.String(), t.Integer(), {
      description: '临时标识（字符串键）→ 新节点标识 / temp id (as a string key) → new node id',
      examples: [{ '1': 32, '2': 33, '3': 34 }],
    }),
  }),
  '200 批量创建成功; 400 参数不合规（消息指明第一个有问题的项）; 500 (HTTP 401 = token 无效)',
);
