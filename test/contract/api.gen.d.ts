// Generated from /swagger/json by openapi-typescript (test/contract.test.ts rewrites it); do not edit.
export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** 进程存活 / liveness */
        get: operations["opsHealthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 就绪检查 / readiness (database reachable)
         * @description HTTP 503 + code 503 when the database fails (数据库不可用) or has not answered a check for DB_STALL_TIMEOUT (数据库无响应; answered at once while the stall lasts).
         */
        get: operations["opsReadyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 注册 / register
         * @description 创建账号并在同一事务中创建收藏夹根目录。账号、邮箱均不区分大小写唯一。
         *
         *     Creates the account and its favorites root folder in one transaction. code 401 = account taken, 402 = e-mail taken (case-insensitive).
         */
        post: operations["authRegister"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 登录 / log in
         * @description `account` 可填账号或注册邮箱。返回 JWT 及其过期时间（UTC）；每次登录创建一个会话（见 /user/sessions）。同一账号名或同一 IP 连续失败过多时暂时锁定：HTTP 429（code 429）+ Retry-After，锁定时间逐次加倍。
         *
         *     `account` takes the account name or the e-mail address. Returns a JWT and its exact expiry; every login starts a session (see /user/sessions). Too many failures for one account name or from one client IP lock it for a while: HTTP 429, code 429, Retry-After; each further failure doubles the lock. The lock applies to unknown accounts alike, so it reveals nothing.
         */
        post: operations["authLogin"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 退出登录 / log out
         * @description 结束当前会话：此 token 之后返回 HTTP 401，其他会话不受影响。
         *
         *     Ends the current session: its token is HTTP 401 afterwards; other sessions are untouched.
         */
        post: operations["authLogout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/forgot-password": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 忘记密码：发送验证码 / send a reset code
         * @description 向邮箱发送 6 位验证码，10 分钟有效、一次性、错误 5 次失效；新请求会替换旧验证码。同一邮箱 60 秒内只发一封（HTTP 200，code 429，Retry-After，消息中给出等待秒数）；同一 IP 每分钟有请求上限（HTTP 429 + Retry-After）。
         *
         *     Mails a 6-digit code (10 min, single use, dies after 5 wrong tries; a new request replaces it). One mail per address per 60 s: HTTP 200 with code 429, Retry-After and the wait in the message (the client shows it). Per client IP: HTTP 429 with code 429 and Retry-After. code 401 = e-mail not registered; code 500 = the mail could not be sent (nothing is kept).
         */
        post: operations["authForgotPassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/reset-password": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 忘记密码：重置密码 / reset the password with the code
         * @description 校验验证码并设置新密码，结束该账号的所有会话（所有 token 失效）。
         *
         *     Checks the code (constant time), sets the new password and ends every session (all tokens). code 401 = wrong, expired, used or exhausted code.
         */
        post: operations["authResetPassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user/reset-password": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 修改密码 / change password
         * @description 修改成功后，其他所有会话立即结束（其 token 返回 HTTP 401）；发起请求的 token 继续有效（客户端会继续使用它），响应中另附同一会话的新 token 及其过期时间，可选用。
         *
         *     Every OTHER session ends at once (their tokens get HTTP 401); the token that made the request stays valid, since the desktop client keeps using it. `data` also carries a fresh token for the same session and its expiry, for clients that want it. code 401 (HTTP 200) = wrong old password.
         */
        post: operations["accountChangePassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user/reset-email": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 修改邮箱 / change e-mail
         * @description 新邮箱放在 `new_email`（旧版客户端发送 `email`，同样接受；两者都有时以 new_email 为准）。新邮箱不区分大小写唯一；已被其他账号使用时返回 code 401（HTTP 200）。
         *
         *     The new address goes in `new_email` (an older client build sends `email`, also accepted; `new_email` wins when both are sent). It must not belong to another account (case-insensitive): code 401 with HTTP 200.
         */
        post: operations["accountChangeEmail"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 登录设备（会话）列表 / list login sessions
         * @description 本人未过期的会话，按创建时间升序；`current` 标记发起本请求的会话。
         *
         *     The caller's unexpired sessions, oldest first; `current` marks the one that made this request.
         */
        get: operations["sessionsList"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user/sessions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * 结束一个会话 / end a session
         * @description 结束本人的一个会话，其 token 之后返回 HTTP 401（可以是当前会话，相当于退出登录）。他人的或不存在的会话 ID 返回 code 400。
         *
         *     Ends one of the caller's sessions; its token is HTTP 401 afterwards (the current one too, like logging out). Another user's or an unknown id: code 400.
         */
        delete: operations["sessionsEnd"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user/favorite_list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 获取收藏夹 / list the favorites tree
         * @description 以扁平列表返回当前用户的全部节点：根目录（name 为 "/"，parent_id 为 null）在前，其余按 id 升序，且每个节点总在其父节点之后（被移动到 id 更大的文件夹下的节点紧随该文件夹）。仅文件节点带 `refer_url`。根目录缺失时会自动重建。
         *
         *     The caller's nodes as a flat list: the root (name "/", parent_id null) first, then by id, every node after its parent (a node moved under a newer folder follows that folder). `refer_url` is present on files only. A missing root is re-created.
         */
        get: operations["favoritesList"];
        put?: never;
        /**
         * 新增收藏夹内容 / add a node
         * @description `parent_id` 必须是当前用户的文件夹（文件、他人节点或不存在的 id 均为 code 400）。`name` 去除首尾空白后 1–255 个字符且不含控制字符；文件必须提供 `refer_url`（≤ 2048 个字符），文件夹忽略 `refer_url`。名称与 url 都不要求唯一。
         *
         *     `parent_id` must be one of the caller's folders (a file, another user's node or a missing id is code 400). `name`: 1–255 characters after trimming, no control characters. Files need `refer_url` (≤ 2048 characters); folders ignore it. Names and urls need not be unique.
         */
        post: operations["favoritesCreate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user/favorite_list/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * 删除收藏夹内容 / delete a node and its subtree
         * @description 在一个事务中删除该节点及其整棵子树，返回所有被删除的节点 `{id, name}`：指定的节点在前，其余按深度、再按 id 升序。根目录不能删除；他人的或不存在的节点为 code 400。
         *
         *     Deletes the node and its whole subtree in one transaction and returns every removed node `{id, name}`: the named node first, then by depth, then by id. The root cannot be deleted; another user's node or a missing id is code 400; a non-numeric id is code 400 (HTTP 200).
         */
        delete: operations["favoritesDelete"];
        options?: never;
        head?: never;
        /**
         * 重命名或移动收藏夹内容 / rename or move a node
         * @description 提供 `name`（重命名，规则同新增）和/或 `parent_id`（移动到当前用户的另一个文件夹，子树随之移动）。根目录不能移动或重命名；新父节点是文件、他人的或不存在的节点、该节点自身或其子孙时为 code 400；修改他人的或不存在的节点也是 code 400。返回修改后的节点（与列表中的形式相同）。移动后子节点的 id 可能小于父节点的 id，列表仍保证每个节点排在其父节点之后。
         *
         *     `name` (rename; the same rules as for adding) and/or `parent_id` (move under another folder of the caller; the subtree moves along). The root cannot be moved or renamed; a file, another user's or a missing node, the node itself or one of its descendants as the new parent is code 400, and so is patching another user's or a missing node. Returns the node as the list shows it. After a move a child's id may be smaller than its parent's; the list still puts every node after its parent.
         */
        patch: operations["favoritesUpdate"];
        trace?: never;
    };
    "/api/v1/user/favorite_list/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 批量新增收藏夹内容 / add many nodes at once
         * @description 一次 1–1000 项，顺序任意。每项有唯一的整数 `temp_id`，并且恰好提供 `parent_id`（当前用户已有的文件夹）或 `parent_temp_id`（本次请求中的文件夹项）之一。重复或悬空的临时 id、自引用、循环、以文件为父节点、名称或类型不合规都会使整批失败（code 400，消息指明第一个有问题的项，如 "items[3] (temp_id 7): …"），且不写入任何数据。成功时 `mapping` 为 临时 id（字符串键）→ 新 id。
         *
         *     1–1000 items in any order; each has a unique integer `temp_id` and exactly one of `parent_id` (an existing folder of the caller) or `parent_temp_id` (a folder item of this request). Duplicate or dangling temp ids, self references, cycles, files as parents, bad names or types reject the whole batch (code 400 naming the first bad item, e.g. "items[3] (temp_id 7): …") and nothing is written. On success `mapping` maps each temp id (a string key) to its new id.
         *
         *     请求头 `Idempotency-Key`：24 小时内相同的键与相同的请求体返回第一次的 mapping（`Idempotent-Replayed: true`），不会重复创建；相同的键配不同的请求体为 code 400。
         *
         *     `Idempotency-Key` header: the same key with the same body within 24 h returns the first mapping (`Idempotent-Replayed: true`) and creates nothing; the same key with another body is code 400.
         */
        post: operations["favoritesBatch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/upload": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 上传参考图片 / upload a reference image
         * @description 请求体为图片原始字节（Content-Type: image/png|jpeg|webp|gif），或 multipart/form-data 中的一个文件字段（优先字段名 file）。服务器检查文件内容（魔数 + 完整解码），默认上限 20 MB、4000 万像素。超过请求体上限返回 HTTP 413。
         *
         *     Send the raw image with `Content-Type: image/png|jpeg|webp|gif`, or multipart/form-data with one file field (the one named `file` is preferred). The bytes are checked (magic number and a full decode); a Content-Type that disagrees with them, an empty, truncated, oversized (20 MB) or over-40-MP image is code 400 and nothing is kept. The file belongs to the uploader.
         */
        post: operations["uploadCreate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/uploads/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 读取上传的图片 / read an uploaded image (file_url)
         * @description 仅上传者可读；其他情况 HTTP 404。支持 Range（HTTP 206）。对象存储且 S3_REDIRECT=1 时，上传者得到 HTTP 302，Location 为 5 分钟内有效的预签名地址。
         *
         *     Only the uploader may read it; anything else is HTTP 404. Content-Length and Range (206) as for results. With STORAGE=s3 and S3_REDIRECT=1 the uploader gets HTTP 302 to a presigned URL valid for 5 minutes.
         */
        get: operations["uploadGet"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/labels/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 校验 AI 生成内容标识 / verify a file's AI-content label
         * @description 无需登录。请求体为文件原始字节（任意 Content-Type），或 multipart/form-data 的 file 字段。读取 GB 45438-2025 隐式标识（PNG/JPEG/WebP 的 XMP `TC260:AIGC`，MP4 的 `AIGC` 元数据项），返回 `labelled`（含标识）与 `valid`（签名为本服务签发且字段未改动）及标识字段。文件不会被保存。
         *
         *     No login. Send the file as the raw body (any Content-Type) or as the `file` field of multipart/form-data. Reads the GB 45438-2025 implicit label (XMP `TC260:AIGC` in PNG/JPEG/WebP, the `AIGC` metadata item in MP4) and answers `labelled` (a label is present) and `valid` (its HMAC is ours, over unchanged fields) with its fields. Nothing is stored. Limit: LABEL_VERIFY_MAX_BYTES (default 64 MB), HTTP 413 beyond.
         */
        post: operations["labelsVerify"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/generation": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 发起生成任务 / create a generation task
         * @description 任务以 processing 状态保存后立即返回，由后台工作进程生成。i2i、i2v 需要参考图片：`image`（一个）和/或 `images`（数组），每项为本人上传得到的 file_id 或 file_url。`parameters` 中已知键会做范围检查（width/height 64–2048，seed，steps 1–150，strength 0–1，duration 1–10 秒，fps 8–30，negative_prompt，style），未知键原样保存。视频每帧最多 1024×1024。
         *
         *     Persists the task as `processing` and returns at once; a worker generates it. i2i and i2v need at least one reference (`image` and/or `images`: the caller's file ids or file urls). Known `parameters` keys are range-checked, unknown keys are kept. Results: t2i/i2i PNG (default 1024×1024 / the reference's size), t2v/i2v H.264 MP4 (default 4 s at 24 fps, 512×512). Same prompt + seed + parameters ⇒ the same pixels (the file differs by its AI-content label, which names the task). Prompts are reviewed first (MODERATION): a refused prompt is code 400, review unavailable (MODERATION_FAIL=closed) code 503.
         *
         *     限额：每个用户同时处理中的任务最多 USER_MAX_ACTIVE_TASKS 个（默认 4），每个 UTC 自然日最多创建 USER_DAILY_TASKS 个（默认不限）；超出时 HTTP 200、code 429，带 `Retry-After` 响应头（秒），message 说明何时再试。请求头 `Idempotency-Key`：24 小时内相同的键与相同的请求体返回第一次的应答（`Idempotent-Replayed: true`），不会再创建任务；相同的键配不同的请求体为 code 400。
         *
         *     Limits: at most USER_MAX_ACTIVE_TASKS tasks of one user in `processing` (default 4) and USER_DAILY_TASKS created per UTC day (default unlimited); beyond them HTTP 200 with code 429, a `Retry-After` header (seconds) and a message saying when to try again. `Idempotency-Key` header: the same key with the same body within 24 h returns the first answer (`Idempotent-Replayed: true`) and queues nothing; the same key with another body is code 400.
         */
        post: operations["generationCreate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/generation/{taskId}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * 取消生成任务 / cancel a task
         * @description 仅任务所有者可取消运行中的任务：任务以 `status: "failed"`、`error: "已取消"`、`canceled: true` 结束（客户端只认三种状态），正在运行它的实例停止工作并尽可能通知生成服务。他人的、不存在的或已结束的任务返回 code 400。
         *
         *     Owner only, while the task runs: it ends `status: "failed"`, `error: "已取消"`, `canceled: true` (the client knows three statuses only); the instance running it stops the work and tells the provider where its API allows. Someone else's, an unknown or a finished task: code 400.
         */
        post: operations["generationCancel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/generation/{taskId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 查询生成结果 / poll a task
         * @description `status`：processing | completed | failed；完成后有 `result_url` 与 `completed_at`，失败时有 `error`；运行中可能带 `progress`（0–100）与 `queue_position`（生成服务报告时）；被取消的任务带 `canceled: true`。他人的或不存在的任务返回 code 400。
         *
         *     Completed tasks carry `result_url` and `completed_at`, failed ones `error`. While running, `progress` (0–100) and `queue_position` appear where the provider reports them; a canceled task has `canceled: true`. Another user's or an unknown task is code 400 (not found).
         */
        get: operations["generationGet"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/generation/{taskId}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 任务实时事件（SSE）/ live task events (server-sent events)
         * @description `text/event-stream`：连接后立即发送一条事件（任务当前状态），之后任务每次变化（status、`progress`、`queue_position`）发送一条；每条事件的 `data:` 行与轮询接口 `GET /api/v1/generation/{taskId}` 的 `data` 完全相同（JSON）。任务 completed 或 failed 的事件发出后服务器结束该流。每 15 秒发送一行注释 `: ping` 作为心跳，防止代理断开空闲连接。读取慢的客户端只会收到最新状态（中间的进度可能被合并），最终状态一定送达。会话结束（退出登录、修改密码）后，流最迟在下一次心跳时关闭。需要 Bearer token，浏览器的 EventSource 无法携带请求头，请用 fetch 读取流（示例见 docs/api-notes.md）。他人的或不存在的任务返回 JSON 信封 code 400（HTTP 200），不会打开流；token 缺失或无效返回 HTTP 401。
         *
         *     `text/event-stream`: one event at once with the task's current state, then one per change (status, `progress`, `queue_position`); each `data:` line is exactly the JSON `data` of the poll `GET /api/v1/generation/{taskId}`. The server ends the stream after the `completed` or `failed` event. A comment line `: ping` every 15 s keeps proxies from closing the connection. A client that reads slowly gets the latest state (intermediate progress may be merged); the final state is always delivered. When the session ends (logout, password change) the stream is closed at the next heartbeat at the latest. Needs the bearer token: the browser's EventSource cannot send headers, so read the stream with fetch (example in docs/api-notes.md). Another user's or an unknown task is the JSON envelope with code 400 (HTTP 200) and no stream; a missing or bad token is HTTP 401.
         */
        get: operations["generationEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/generated_outputs/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 获取生成结果 / download a result (result_url)
         * @description 需要 token，仅任务所有者可读；支持 Range（HTTP 206）。他人的、已删除记录的或不存在的文件返回 HTTP 404。对象存储且 S3_REDIRECT=1 时，所有者得到 HTTP 302，Location 为 5 分钟内有效的预签名地址（客户端须跟随重定向）。
         *
         *     Bearer token required; owner only. Returns image/png or video/mp4 with Content-Length; `Range: bytes=a-b` gives HTTP 206 (416 when unsatisfiable). Someone else's file, a hidden record's file or an unknown name: HTTP 404. With STORAGE=s3 and S3_REDIRECT=1 the owner gets HTTP 302 to a presigned URL valid for 5 minutes instead (the client must follow redirects).
         *
         *     浏览器可不带 token，改用轮询/历史返回的 `signed_url`（查询参数 exp、sid、sig）；链接过期、被篡改或会话已结束返回 HTTP 403（与文件是否存在无关）。
         *
         *     Browsers may instead use the `signed_url` of the poll or the history (query `exp`, `sid`, `sig`) without the token; an expired or tampered link, or one whose session has ended, is HTTP 403 whether or not the file exists.
         */
        get: operations["generationResult"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/generated_outputs/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 获取生成结果（/api/v1 前缀）/ download a result under /api/v1
         * @description 与 `GET /generated_outputs/{name}` 完全相同（同一文件、所有者规则、Range 与 404），供在路径前加 /api/v1 的客户端使用。
         *
         *     Exactly the same as `GET /generated_outputs/{name}` (same file, owner rule, Range support and 404s), for clients that put /api/v1 in front of the result url. Signed links (`signed_url`) work here too.
         */
        get: operations["generationResultV1"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user/generation_list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * 获取历史生成记录 / history
         * @description 本人未删除的记录，按创建时间升序（早的在前）；附加 `status`，未完成的 `result_url` 为 null；已完成的带 `signed_url`。不带参数时返回全部记录（与规范及客户端一致）；带 `limit`（1–100）和/或 `cursor` 时分页：`data` 仍为本页记录数组，信封顶层的 `next_cursor` 为下一页游标（最后一页为 null），原样传回 `cursor` 取下一页。无效的 limit 或 cursor 返回 code 400。
         *
         *     The caller's visible records, oldest first, with `status` added; `result_url` is null until completed; completed ones carry `signed_url`. Without parameters: the whole list (the spec, and what the client expects). With `limit` (1–100) and/or `cursor`: one page; `data` is still the list, and `next_cursor` beside it (top level of the envelope) is the next page's cursor, null on the last page. A bad limit or cursor is code 400.
         */
        get: operations["historyList"];
        put?: never;
        /**
         * 删除生成记录（按 result_url）/ hide a record by its result url
         * @description 令该记录对本人不可见，并在同一事务中删除本人收藏夹里 refer_url 等于该 url 的文件节点。未知 url 返回 code 400。
         *
         *     Hides the record from the caller and, in the same transaction, removes the caller's favorite file nodes whose `refer_url` equals that url. The url may be the path or an absolute URL. Unknown url: code 400.
         */
        post: operations["historyHide"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user/generation_list/{task_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * 删除生成记录（按 task_id）/ hide a record by task id
         * @description 与 POST 形式含义相同（新版客户端使用）。未知或他人的 task_id 返回 code 400。
         *
         *     Same meaning as the POST form (the newer client sends this). Unknown or someone else's id: code 400.
         */
        delete: operations["historyDelete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @description 错误信封：HTTP 状态非 200 时的响应体 / the envelope of a non-200 answer (`code` equals the HTTP status)
         * @example {
         *       "code": 401,
         *       "message": "未登录或登录已过期，请重新登录"
         *     }
         */
        ErrorResponse: {
            /**
             * @description 与 HTTP 状态相同 / same as the HTTP status
             * @example 401
             */
            code: number;
            /**
             * @description 中文提示 / message in Chinese
             * @example 未登录或登录已过期，请重新登录
             */
            message: string;
            /** @description 仅 HTTP 500：用于排查的请求 ID / HTTP 500 only: the request id to report */
            data?: {
                /** @example 9f1c2b7e-4d1a-4c2e-8a53-0c4e5b6d7f80 */
                request_id?: string;
            };
        };
        /** Session */
        Session: {
            /**
             * @description 会话 ID
             * @example Qm9yaW5nU2Vzc2lvbklk
             */
            id: string;
            /** @description 是否为发起本请求的会话 / the session of this request */
            current: boolean;
            /**
             * Format: date-time
             * @description ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z
             * @example 2025-11-04T17:00:00Z
             */
            created_at: string;
            /**
             * Format: date-time
             * @description 最近使用时间（每分钟最多更新一次）/ last use, updated at most once a minute
             */
            last_used_at: string;
            /**
             * Format: date-time
             * @description ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z
             * @example 2025-11-04T17:00:00Z
             */
            expires_at: string;
            /** @description 登录时的 User-Agent */
            user_agent: string | null;
            /** @description 登录时的客户端 IP */
            ip: string | null;
        };
        /**
         * FavoriteNode
         * @example {
         *       "id": 1,
         *       "parent_id": null,
         *       "name": "/",
         *       "node_type": "folder"
         *     }
         * @example {
         *       "id": 2,
         *       "parent_id": 1,
         *       "name": "example.png",
         *       "node_type": "file",
         *       "refer_url": "/generated_outputs/task_0123456789abcdef0123.png"
         *     }
         */
        FavoriteNode: {
            /** @description 节点标识 / node id */
            id: number;
            /** @description 父节点标识；根节点为 null / parent id; null for the root */
            parent_id: number | null;
            /** @description 名称；根节点为 "/" / name; the root is "/" */
            name: string;
            /**
             * @description `folder` | `file`
             * @enum {string}
             */
            node_type: "folder" | "file";
            /** @description 仅文件节点有此字段 / present on files only */
            refer_url?: string;
        };
        /** FavoriteCreated */
        FavoriteCreated: {
            /**
             * @description 新节点的标识 / id of the new node
             * @example 32
             */
            id: number;
        };
        /** FavoriteRemoved */
        FavoriteRemoved: {
            /** @example 2 */
            id: number;
            /** @example example.png */
            name: string;
        };
        /** FavoriteBatchItem */
        FavoriteBatchItem: {
            /**
             * @description 客户端给出的临时标识，在请求中唯一 / temporary id chosen by the client, unique in the request
             * @example 1
             */
            temp_id: number;
            /**
             * @description 已存在的父文件夹标识（与 parent_temp_id 二选一）/ an existing folder (exclusive with parent_temp_id)
             * @example 1
             */
            parent_id?: number | null;
            /**
             * @description 本次请求中某个文件夹项的 temp_id（与 parent_id 二选一）/ temp_id of a folder item of this request
             * @example 1
             */
            parent_temp_id?: number | null;
            /**
             * @description 名称：去除首尾空白后 1–255 个字符，不含控制字符；保存去除空白后的值 / name: 1–255 characters after trimming, no control characters; stored trimmed
             * @example example.png
             */
            name: string;
            /**
             * @description 节点类型 / node type: `folder` | `file`
             * @example file
             * @enum {string}
             */
            node_type: "folder" | "file";
            /**
             * @description 文件的 url（文件必填，1–2048 个字符，任意字符串；文件夹忽略此字段）/ url of a file (required for files, 1–2048 characters, any string; ignored for folders)
             * @example /generated_outputs/example.png
             */
            refer_url?: string | null;
        };
        /**
         * GenerationParameters
         * @description 可选参数；未知键原样保存 / optional; unknown keys are kept
         * @example {
         *       "width": 512,
         *       "height": 512,
         *       "seed": 42
         *     }
         */
        GenerationParameters: {
            /** @description 输出宽度（像素） */
            width?: number;
            /** @description 输出高度（像素） */
            height?: number;
            /** @description 随机种子；相同种子得到相同结果 */
            seed?: number;
            steps?: number;
            /** @description i2i 效果强度 0–1（默认 0.75） */
            strength?: number;
            /** @description 视频时长（秒），默认 4 */
            duration?: number;
            /** @description 视频帧率，默认 24 */
            fps?: number;
            negative_prompt?: string;
            style?: string;
        } & {
            [key: string]: unknown;
        };
        /** TaskCreated */
        TaskCreated: {
            /** @example task_0123456789abcdef0123 */
            task_id: string;
            /**
             * Format: date-time
             * @description ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z
             * @example 2025-11-04T17:00:00Z
             */
            created_at: string;
            /**
             * @description t2i 文生图; i2i 参考图生图; t2v 文生视频; i2v 关键帧生视频
             * @example t2i
             * @enum {string}
             */
            type: "t2i" | "i2i" | "t2v" | "i2v";
            /** @example sunset over the ocean */
            prompt: string;
            /**
             * @example {
             *       "width": 512,
             *       "height": 512,
             *       "seed": 42
             *     }
             */
            parameters: {
                [key: string]: unknown;
            };
            image?: string;
            images?: string[];
            /**
             * @description 新任务总是 processing / always processing for a new task
             * @example completed
             * @enum {string}
             */
            status: "processing" | "completed" | "failed";
        };
        /** TaskCanceled */
        TaskCanceled: {
            task_id: string;
            /** @constant */
            status: "failed";
            /**
             * Format: date-time
             * @description ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z
             * @example 2025-11-04T17:00:00Z
             */
            created_at: string;
            /** @constant */
            error: "已取消";
            /** @constant */
            canceled: true;
        };
        /**
         * Task
         * @example {
         *       "task_id": "task_0123456789abcdef0123",
         *       "status": "completed",
         *       "created_at": "2025-11-04T17:00:00Z",
         *       "result_url": "/generated_outputs/task_0123456789abcdef0123.png",
         *       "completed_at": "2025-11-04T17:00:09Z",
         *       "review_status": "approved"
         *     }
         */
        Task: {
            /** @example task_0123456789abcdef0123 */
            task_id: string;
            /**
             * @description processing | completed | failed
             * @example completed
             * @enum {string}
             */
            status: "processing" | "completed" | "failed";
            /**
             * Format: date-time
             * @description ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z
             * @example 2025-11-04T17:00:00Z
             */
            created_at: string;
            /** @example /generated_outputs/task_0123456789abcdef0123.png */
            result_url?: string;
            /**
             * @description 已完成结果的签名地址：无需 token 即可读取（可用于 <img src>、<video src>，支持 Range），有效期至少 SIGNED_URL_TTL（默认 1 小时），会话结束（退出登录等）即失效；失效或被篡改返回 HTTP 403。`result_url` 仍需 token。
             *
             *     The completed result's url signed for the asking session: readable without the token (for `<img src>` / `<video src>`, Range supported), valid at least SIGNED_URL_TTL (default 1 h) and only while the session lives; expired or tampered: HTTP 403. `result_url` still needs the token.
             * @example /generated_outputs/task_0123456789abcdef0123.png?exp=1762279200&sid=Q2hhbmdlTWVQbGVhc2U&sig=9f2c…
             */
            signed_url?: string;
            /**
             * Format: date-time
             * @description ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z
             * @example 2025-11-04T17:00:00Z
             */
            completed_at?: string;
            /** @description 失败原因（仅 failed） */
            error?: string;
            /** @description 进度 0–100（运行中且提供方报告时才有）/ progress while running, where known */
            progress?: number;
            /** @description 在生成服务队列中的位置（排队中且已知时才有）/ position in the provider's queue, where known */
            queue_position?: number;
            /**
             * @description 已被用户取消（此时 status 为 failed，error 为 已取消）/ canceled by its owner
             * @constant
             */
            canceled?: true;
            /** @enum {string} */
            review_status: "pending" | "approved" | "rejected";
            /** @description 审核未通过或等待人工审核的说明 / why the output is held or was refused */
            review_message?: string;
        };
        /**
         * HistoryRecord
         * @example {
         *       "task_id": "task_0123456789abcdef0123",
         *       "created_at": "2025-11-04T17:00:00Z",
         *       "type": "t2i",
         *       "prompt": "sunset over the ocean",
         *       "parameters": {
         *         "width": 512,
         *         "height": 512,
         *         "seed": 42
         *       },
         *       "result_url": null,
         *       "status": "processing",
         *       "review_status": "pending"
         *     }
         */
        HistoryRecord: {
            /** @example task_0123456789abcdef0123 */
            task_id: string;
            /**
             * Format: date-time
             * @description ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z
             * @example 2025-11-04T17:00:00Z
             */
            created_at: string;
            /**
             * @description t2i 文生图; i2i 参考图生图; t2v 文生视频; i2v 关键帧生视频
             * @example t2i
             * @enum {string}
             */
            type: "t2i" | "i2i" | "t2v" | "i2v";
            /** @example sunset over the ocean */
            prompt: string;
            /**
             * @example {
             *       "width": 512,
             *       "height": 512,
             *       "seed": 42
             *     }
             */
            parameters: {
                [key: string]: unknown;
            };
            /** @description 完成前为 null / null until completed */
            result_url: string | null;
            /**
             * @description 已完成结果的签名地址：无需 token 即可读取（可用于 <img src>、<video src>，支持 Range），有效期至少 SIGNED_URL_TTL（默认 1 小时），会话结束（退出登录等）即失效；失效或被篡改返回 HTTP 403。`result_url` 仍需 token。
             *
             *     The completed result's url signed for the asking session: readable without the token (for `<img src>` / `<video src>`, Range supported), valid at least SIGNED_URL_TTL (default 1 h) and only while the session lives; expired or tampered: HTTP 403. `result_url` still needs the token.
             * @example /generated_outputs/task_0123456789abcdef0123.png?exp=1762279200&sid=Q2hhbmdlTWVQbGVhc2U&sig=9f2c…
             */
            signed_url?: string;
            /**
             * @description processing | completed | failed
             * @example completed
             * @enum {string}
             */
            status: "processing" | "completed" | "failed";
            /** @description 进度 0–100（运行中且提供方报告时才有）/ progress while running, where known */
            progress?: number;
            /** @description 在生成服务队列中的位置（排队中且已知时才有）/ position in the provider's queue, where known */
            queue_position?: number;
            /**
             * @description 已被用户取消（此时 status 为 failed，error 为 已取消）/ canceled by its owner
             * @constant
             */
            canceled?: true;
            /** @enum {string} */
            review_status: "pending" | "approved" | "rejected";
            /** @description 审核未通过或等待人工审核的说明 / why the output is held or was refused */
            review_message?: string;
        };
        /** HiddenRecord */
        HiddenRecord: {
            result_url: string | null;
        };
        OpsHealthzResponse: {
            /**
             * @description 业务状态码 / business code: 200
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
        };
        OpsReadyzResponse: {
            /**
             * @description 业务状态码 / business code: 200
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
        };
        OpsReadyz503Response: {
            /**
             * @description 业务状态码 / business code: 503
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
        };
        AuthRegisterData: {
            account: string;
            email: string;
            /**
             * Format: date-time
             * @description ISO-8601 UTC, e.g. 2025-11-04T17:00:00Z
             * @example 2025-11-04T17:00:00Z
             */
            created_at: string;
        };
        AuthRegisterResponse: {
            /**
             * @description 业务状态码 / business code: 200 注册成功; 400 参数不合规; 401 账号重复; 402 邮箱重复; 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["AuthRegisterData"];
        };
        AuthLoginData: {
            /** @example test_user */
            account: string;
            /** @example test@example.com */
            email: string;
            /** @description JWT，放入 Authorization: Bearer <token> */
            token: string;
            /**
             * Format: date-time
             * @description token 过期时间（UTC）/ when the token expires (UTC)
             * @example 2025-11-11T17:00:00Z
             */
            token_expire_at: string;
        };
        AuthLoginResponse: {
            /**
             * @description 业务状态码 / business code: 200 登录成功; 400 参数不合规; 401 账号或密码错误; 429 尝试过于频繁 (HTTP 429); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["AuthLoginData"];
        };
        AuthLogoutResponse: {
            /**
             * @description 业务状态码 / business code: 200 已退出登录; 401 未登录或登录已过期 (HTTP 401); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
        };
        AuthForgotPasswordResponse: {
            /**
             * @description 业务状态码 / business code: 200 邮件已发送; 400 参数不合规; 401 邮箱未注册; 429 同一邮箱 60 秒内重复请求 (HTTP 200) / 同一 IP 请求过多 (HTTP 429); 500 邮件发送失败
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
        };
        AuthResetPasswordResponse: {
            /**
             * @description 业务状态码 / business code: 200 成功重置密码; 400 参数不合规; 401 验证码错误或过期; 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
        };
        AccountChangePasswordData: {
            /** @description JWT，放入 Authorization: Bearer <token> */
            token: string;
            /**
             * Format: date-time
             * @description token 过期时间（UTC）/ when the token expires (UTC)
             * @example 2025-11-11T17:00:00Z
             */
            token_expire_at: string;
        };
        AccountChangePasswordResponse: {
            /**
             * @description 业务状态码 / business code: 200 成功修改密码; 400 参数不合规; 401 旧密码不正确; 500 (HTTP 401 = token 无效)
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["AccountChangePasswordData"];
        };
        AccountChangeEmailData: {
            email: string;
        };
        AccountChangeEmailResponse: {
            /**
             * @description 业务状态码 / business code: 200 成功修改邮箱; 400 参数不合规; 401 邮箱重复; 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["AccountChangeEmailData"];
        };
        SessionsListResponse: {
            /**
             * @description 业务状态码 / business code: 200 成功; 401 未登录或登录已过期 (HTTP 401); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["Session"][];
        };
        SessionsEndData: {
            id: string;
            /** @description 结束的是否为当前会话 */
            current: boolean;
        };
        SessionsEndResponse: {
            /**
             * @description 业务状态码 / business code: 200 会话已结束; 400 会话不存在（含他人的会话）; 401 (HTTP 401); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["SessionsEndData"];
        };
        FavoritesListResponse: {
            /**
             * @description 业务状态码 / business code: 200 成功获取收藏夹列表; 401 (HTTP 401 = token 无效); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["FavoriteNode"][];
        };
        FavoritesCreateResponse: {
            /**
             * @description 业务状态码 / business code: 200 成功创建新收藏内容; 400 参数不合规（含父节点不存在、父节点是文件）; 500 (HTTP 401 = token 无效)
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["FavoriteCreated"];
        };
        FavoritesDeleteResponse: {
            /**
             * @description 业务状态码 / business code: 200 删除收藏夹内容成功; 400 参数不合规（含节点不存在、根目录不能删除）; 500 (HTTP 401 = token 无效)
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["FavoriteRemoved"][];
        };
        FavoritesUpdateResponse: {
            /**
             * @description 业务状态码 / business code: 200 修改收藏夹内容成功; 400 参数不合规（含节点不存在、根目录不能移动或重命名、目标不是文件夹、移动到自身子树）; 500 (HTTP 401 = token 无效)
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["FavoriteNode"];
        };
        FavoritesBatchData: {
            /**
             * @description 临时标识（字符串键）→ 新节点标识 / temp id (as a string key) → new node id
             * @example {
             *       "1": 32,
             *       "2": 33,
             *       "3": 34
             *     }
             */
            mapping: {
                [key: string]: number;
            };
        };
        FavoritesBatchResponse: {
            /**
             * @description 业务状态码 / business code: 200 批量创建成功; 400 参数不合规（消息指明第一个有问题的项）; 500 (HTTP 401 = token 无效)
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["FavoritesBatchData"];
        };
        UploadCreateData: {
            /**
             * @description 文件 ID，用于生成任务的 image/images
             * @example ref_0123456789abcdef0123
             */
            file_id: string;
            /**
             * @description 文件 URL（需 token，仅上传者可读）
             * @example /uploads/ref_0123456789abcdef0123.png
             */
            file_url: string;
        };
        UploadCreateResponse: {
            /**
             * @description 业务状态码 / business code: 200 上传成功; 400 参数不合规 (空文件、格式不支持、Content-Type 与内容不符、损坏、过大、像素过多); 500; HTTP 503 存储服务不可用; HTTP 507 磁盘已满
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["UploadCreateData"];
        };
        LabelsVerifyData: {
            /** @description 文件含 AIGC 隐式标识 / the file carries an AIGC label */
            labelled: boolean;
            /** @description 标识签名由本服务签发且字段未被改动 / its HMAC is one of ours over unchanged fields */
            valid: boolean;
            /**
             * @description 识别出的文件格式；不支持的格式为 null / the format read, null when not PNG, JPEG, WebP or MP4
             * @enum {string|null}
             */
            format: "png" | "jpeg" | "webp" | "mp4" | null;
            /** @description 标识份数（标准要求一份）/ how many labels the file holds (one is right) */
            copies: number;
            /** @description IPTC DigitalSourceType（图片） */
            digital_source_type: string | null;
            /** @description 文件中第一个 AIGC 标识的字段 / the fields of the first label found */
            label: {
                /** @description "1" = AI 生成 / AI-generated */
                Label: string;
                /** @description 生成合成服务提供者编码 / the producer code (AIGC_PRODUCER_CODE) */
                ContentProducer: string;
                /** @description 内容制作编号（任务 ID）/ the task id */
                ProduceID: string;
                /** @description HMAC-SHA256（hex）/ the signature over the other fields */
                ReservedCode1: string;
                /** @description 传播服务提供者编码 / the propagator code */
                ContentPropagator: string;
                /** @description 传播编号 / the propagation id */
                PropagateID: string;
                /** @description 保留 / reserved */
                ReservedCode2: string;
            } | null;
        };
        LabelsVerifyResponse: {
            /**
             * @description 业务状态码 / business code: 200 已读取（未含标识时 labelled 为 false）; 400 缺少文件; HTTP 413 文件过大
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["LabelsVerifyData"];
        };
        GenerationCreateResponse: {
            /**
             * @description 业务状态码 / business code: 200 生成任务已创建; 400 参数不合规 (含参考图片不存在); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["TaskCreated"];
        };
        GenerationCancelResponse: {
            /**
             * @description 业务状态码 / business code: 200 任务已取消; 400 任务不存在或已结束（含他人的任务）; 401 (HTTP 401); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["TaskCanceled"];
        };
        GenerationGetResponse: {
            /**
             * @description 业务状态码 / business code: 200 任务处理中/任务完成/任务失败; 400 任务不存在或参数不合规; 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["Task"];
        };
        HistoryListResponse: {
            /**
             * @description 业务状态码 / business code: 200 成功; 400 参数不合规（limit、cursor）; 401 鉴权失败 (HTTP 401); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["HistoryRecord"][];
            /**
             * @description 仅分页请求（带 limit 或 cursor）才有：下一页的游标，最后一页为 null / paged requests only: the next page's cursor, null on the last page
             * @example MTc2MjI3NTYwMDAwMDAwMC50YXNrXzAxMjM0NTY3ODlhYmNkZWYwMTIz
             */
            next_cursor?: string | null;
        };
        HistoryHideResponse: {
            /**
             * @description 业务状态码 / business code: 200 删除生成记录成功; 400 记录不存在; 401 鉴权失败 (HTTP 401); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["HiddenRecord"];
        };
        HistoryDeleteResponse: {
            /**
             * @description 业务状态码 / business code: 200 删除生成记录成功; 400 记录不存在; 401 鉴权失败 (HTTP 401); 500
             * @example 200
             */
            code: number;
            /** @description 中文提示 / message in Chinese */
            message: string;
            data?: components["schemas"]["HiddenRecord"];
        };
    };
    responses: {
        /** @description token 缺失、无效、过期或已撤销 / missing, bad, expired or revoked bearer token */
        Unauthorized: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "code": 401,
                 *       "message": "未登录或登录已过期，请重新登录"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description 不存在或无权访问 / not found (or not yours) */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "code": 404,
                 *       "message": "文件不存在"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description 请求体超过上限 / request body over the limit */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "code": 413,
                 *       "message": "请求体过大"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description 请求过于频繁，请在 Retry-After 秒后重试 / rate limited: retry after Retry-After seconds */
        TooManyRequests: {
            headers: {
                /** @description 需要等待的秒数 / seconds to wait */
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "code": 429,
                 *       "message": "请求过于频繁，请稍后再试"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description 服务器内部错误（含请求 ID）/ unexpected error, with a request id */
        InternalError: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "code": 500,
                 *       "message": "服务器内部错误",
                 *       "data": {
                 *         "request_id": "9f1c2b7e-4d1a-4c2e-8a53-0c4e5b6d7f80"
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
    };
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    opsHealthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OpsHealthzResponse"];
                };
            };
            500: components["responses"]["InternalError"];
        };
    };
    opsReadyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OpsReadyzResponse"];
                };
            };
            500: components["responses"]["InternalError"];
            /** @description HTTP 503 */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OpsReadyz503Response"];
                };
            };
        };
    };
    authRegister: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description 账号：3–32 位字母、数字、_ . -，不区分大小写唯一 / account name, unique case-insensitively
                     * @example test_user
                     */
                    account: string;
                    /**
                     * @description 邮箱，最长 254，不区分大小写唯一 / e-mail address, unique case-insensitively
                     * @example test@example.com
                     */
                    email: string;
                    /**
                     * @description 密码：8–128 位，至少一个字母和一个数字 / 8–128 characters with a letter and a digit
                     * @example User@1234
                     */
                    password: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthRegisterResponse"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    authLogin: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description 账号（也可填写注册邮箱）/ account name, or the e-mail address
                     * @example test_user
                     */
                    account: string;
                    /** @example User@1234 */
                    password: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthLoginResponse"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
        };
    };
    authLogout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthLogoutResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    authForgotPassword: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description 邮箱，最长 254，不区分大小写唯一 / e-mail address, unique case-insensitively
                     * @example test@example.com
                     */
                    email: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthForgotPasswordResponse"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
        };
    };
    authResetPassword: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description 邮箱，最长 254，不区分大小写唯一 / e-mail address, unique case-insensitively
                     * @example test@example.com
                     */
                    email: string;
                    /**
                     * @description 邮件中的 6 位验证码 / the 6-digit code
                     * @example 123456
                     */
                    verification_code: string;
                    /**
                     * @description 密码：8–128 位，至少一个字母和一个数字 / 8–128 characters with a letter and a digit
                     * @example User@1234
                     */
                    new_password: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthResetPasswordResponse"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    accountChangePassword: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @example User@1234 */
                    old_password: string;
                    /**
                     * @description 密码：8–128 位，至少一个字母和一个数字 / 8–128 characters with a letter and a digit
                     * @example User@1234
                     */
                    new_password: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccountChangePasswordResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    accountChangeEmail: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description 邮箱，最长 254，不区分大小写唯一 / e-mail address, unique case-insensitively
                     * @example test@example.com
                     */
                    new_email?: string;
                    /**
                     * @description 邮箱，最长 254，不区分大小写唯一 / e-mail address, unique case-insensitively
                     * @example test@example.com
                     */
                    email?: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccountChangeEmailResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    sessionsList: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionsListResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    sessionsEnd: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionsEndResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    favoritesList: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FavoritesListResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    favoritesCreate: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description 父节点标识：当前用户的一个文件夹 / parent: one of the caller's folders
                     * @example 1
                     */
                    parent_id: number;
                    /**
                     * @description 名称：去除首尾空白后 1–255 个字符，不含控制字符；保存去除空白后的值 / name: 1–255 characters after trimming, no control characters; stored trimmed
                     * @example example.png
                     */
                    name: string;
                    /**
                     * @description 节点类型 / node type: `folder` | `file`
                     * @example file
                     * @enum {string}
                     */
                    node_type: "folder" | "file";
                    /**
                     * @description 文件的 url（文件必填，1–2048 个字符，任意字符串；文件夹忽略此字段）/ url of a file (required for files, 1–2048 characters, any string; ignored for folders)
                     * @example /generated_outputs/example.png
                     */
                    refer_url?: string | null;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FavoritesCreateResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    favoritesDelete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FavoritesDeleteResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    favoritesUpdate: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description 名称：去除首尾空白后 1–255 个字符，不含控制字符；保存去除空白后的值 / name: 1–255 characters after trimming, no control characters; stored trimmed
                     * @example example.png
                     */
                    name?: string;
                    /**
                     * @description 新的父节点：当前用户的一个文件夹，不能是该节点自身或其子孙 / the new parent: one of the caller's folders, not the node or one of its descendants
                     * @example 1
                     */
                    parent_id?: number;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FavoritesUpdateResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    favoritesBatch: {
        parameters: {
            query?: never;
            header?: {
                "idempotency-key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description 1–1000 项，顺序任意 / 1–1000 items in any order */
                    items: components["schemas"]["FavoriteBatchItem"][];
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FavoritesBatchResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
        };
    };
    uploadCreate: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "image/png": string;
                "image/jpeg": string;
                "image/webp": string;
                "image/gif": string;
                "multipart/form-data": {
                    /** Format: binary */
                    file: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UploadCreateResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    uploadGet: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 文件内容（带 Content-Length）/ the file, with Content-Length */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "image/png": string;
                    "image/jpeg": string;
                    "image/webp": string;
                    "image/gif": string;
                };
            };
            /** @description Range 请求的部分内容 / the requested byte range */
            206: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "image/png": string;
                    "image/jpeg": string;
                    "image/webp": string;
                    "image/gif": string;
                };
            };
            /** @description STORAGE=s3 且 S3_REDIRECT=1：跳转到 5 分钟有效的预签名地址 / redirect to a presigned URL (5 minutes) */
            302: {
                headers: {
                    /** @description 预签名地址 / the presigned URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            /** @description Range 无法满足 / range not satisfiable */
            416: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            500: components["responses"]["InternalError"];
        };
    };
    labelsVerify: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/octet-stream": string;
                "image/png": string;
                "image/jpeg": string;
                "image/webp": string;
                "video/mp4": string;
                "multipart/form-data": {
                    /** Format: binary */
                    file: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LabelsVerifyResponse"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    generationCreate: {
        parameters: {
            query?: never;
            header?: {
                "idempotency-key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @enum {string} */
                    type: "t2i" | "i2i" | "t2v" | "i2v";
                    /**
                     * @description 提示词，去除首尾空白后 1–2000 字符
                     * @example sunset over the ocean
                     */
                    prompt: string;
                    parameters?: components["schemas"]["GenerationParameters"];
                    /** @description 上传得到的 file_id 或 file_url */
                    image?: string;
                    /** @description 一组参考图片（file_id 或 file_url） */
                    images?: string[];
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GenerationCreateResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
        };
    };
    generationCancel: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                taskId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GenerationCancelResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    generationGet: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                taskId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GenerationGetResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    generationEvents: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                taskId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 事件流，或任务不存在时的 JSON 信封（code 400）/ the event stream, or the JSON envelope (code 400) for an unknown task */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example data: {"task_id":"task_0123456789abcdef0123","status":"processing","created_at":"2025-11-04T17:00:00Z","progress":40}
                     *
                     *     : ping
                     *
                     *     data: {"task_id":"task_0123456789abcdef0123","status":"completed","created_at":"2025-11-04T17:00:00Z","result_url":"/generated_outputs/task_0123456789abcdef0123.png","completed_at":"2025-11-04T17:00:09Z"}
                     */
                    "text/event-stream": string;
                    "application/json": components["schemas"]["GenerationGetResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    generationResult: {
        parameters: {
            query?: {
                exp?: string;
                sid?: string;
                sig?: string;
            };
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 文件内容（带 Content-Length）/ the file, with Content-Length */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "image/png": string;
                    "video/mp4": string;
                };
            };
            /** @description Range 请求的部分内容 / the requested byte range */
            206: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "image/png": string;
                    "video/mp4": string;
                };
            };
            /** @description STORAGE=s3 且 S3_REDIRECT=1：跳转到 5 分钟有效的预签名地址 / redirect to a presigned URL (5 minutes) */
            302: {
                headers: {
                    /** @description 预签名地址 / the presigned URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            /** @description 签名链接过期、被篡改或其会话已结束（与文件是否存在无关）/ the signed link is expired, tampered with or its session ended (whether or not the file exists) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            404: components["responses"]["NotFound"];
            /** @description Range 无法满足 / range not satisfiable */
            416: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            500: components["responses"]["InternalError"];
        };
    };
    generationResultV1: {
        parameters: {
            query?: {
                exp?: string;
                sid?: string;
                sig?: string;
            };
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 文件内容（带 Content-Length）/ the file, with Content-Length */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "image/png": string;
                    "video/mp4": string;
                };
            };
            /** @description Range 请求的部分内容 / the requested byte range */
            206: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "image/png": string;
                    "video/mp4": string;
                };
            };
            /** @description STORAGE=s3 且 S3_REDIRECT=1：跳转到 5 分钟有效的预签名地址 / redirect to a presigned URL (5 minutes) */
            302: {
                headers: {
                    /** @description 预签名地址 / the presigned URL */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            /** @description 签名链接过期、被篡改或其会话已结束（与文件是否存在无关）/ the signed link is expired, tampered with or its session ended (whether or not the file exists) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            404: components["responses"]["NotFound"];
            /** @description Range 无法满足 / range not satisfiable */
            416: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            500: components["responses"]["InternalError"];
        };
    };
    historyList: {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HistoryListResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
    historyHide: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @example /generated_outputs/task_0123456789abcdef0123.png */
                    result_url: string;
                };
            };
        };
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HistoryHideResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
        };
    };
    historyDelete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                task_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description 成功（业务结果见 code）/ OK: the outcome is in `code` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HistoryDeleteResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
}
