// Swagger UI at /swagger and the published OpenAPI contract at /swagger/json (issue 14). The document is generated
// from the route schemas by @elysiajs/openapi's `toOpenAPISchema`, then turned into the contract by `toContract`
// (declared types, 3.1 nullability, named components, error responses, operation ids); the UI's files are served
// from the binary.
import { toOpenAPISchema } from '@elysiajs/openapi';
import { SwaggerUIRender } from '@elysiajs/openapi/swagger';
import { Elysia } from 'elysia';
import swaggerBundlePath from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' };
import swaggerCssPath from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' };
import { toContract } from './openapi-doc';

const ASSETS = '/swagger/assets';
const SPEC_PATH = '/swagger/json';

/** Operations that can answer HTTP 429 with Retry-After (DECISIONS §1); the fair-use limits answer code 429 too. */
const RATE_LIMITED = new Set(['authLogin', 'authForgotPassword', 'generationCreate', 'favoritesBatch']);

const info = (version: string) => ({
  title: 'AIGC backend API',
  version,
  description:
    '文生图 / 图生图 / 文生视频 / 图生视频 后端接口。所有业务结果均为 HTTP 200，含义见响应体 `code`；' +
    '仅当 token 缺失、无效、过期或被撤销时返回 HTTP 401。\n\n' +
    'Every business outcome is HTTP 200 with the meaning in the body `code` ' +
    '(`{code, message, data?}`); HTTP 401 only for a missing, bad, expired or revoked bearer token; ' +
    'validation failures are HTTP 200 + code 400 naming the field (never 422); unknown routes 404; ' +
    'bodies over the limit 413; rate limits 429 with Retry-After; unexpected errors 500 with a request id.',
});

export const docs = (version: string) => {
  let cache: unknown;
  const page = SwaggerUIRender(info(version), {
    url: SPEC_PATH,
    dom_id: '#swagger-ui',
    cdn: `${ASSETS}/swagger-ui-bundle.js`,
    theme: `${ASSETS}/swagger-ui.css`,
    persistAuthorization: true,
  } as Parameters<typeof SwaggerUIRender>[1]);
  const plugin: Elysia = new Elysia({ name: 'docs' });
  return plugin
    .get(`${ASSETS}/swagger-ui-bundle.js`, () => new Response(Bun.file(swaggerBundlePath), {
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' },
    }), { detail: { hide: true } })
    .get(`${ASSETS}/swagger-ui.css`, () => new Response(Bun.file(swaggerCssPath), {
      headers: { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=86400' },
    }), { detail: { hide: true } })
    .get('/swagger', () => new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } }), {
      detail: { hide: true },
    })
    .get(SPEC_PATH, () => {
      // every route is registered before the first request: build the document once
      if (cache === undefined) {
        const { paths, components } = toOpenAPISchema(plugin);
        const raw = {
          openapi: '3.1.2',
          info: info(version),
          paths,
          components: {
            ...components,
            securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
          },
        };
        cache = toContract(JSON.parse(JSON.stringify(raw)), { rateLimited: RATE_LIMITED });
      }
      return cache;
    }, { detail: { hide: true } });
};
