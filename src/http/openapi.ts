import { openapi } from '@elysiajs/openapi';
import { Elysia } from 'elysia';
import swaggerBundlePath from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' };
import swaggerCssPath from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' };

const ASSETS = '/swagger/assets';

/** Swagger UI at /swagger and the OpenAPI JSON at /swagger/json, with the UI's files served from the binary. */
export const docs = (version: string) =>
  new Elysia({ name: 'docs' })
    .get(`${ASSETS}/swagger-ui-bundle.js`, () => new Response(Bun.file(swaggerBundlePath), {
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=86400' },
    }), { detail: { hide: true } })
    .get(`${ASSETS}/swagger-ui.css`, () => new Response(Bun.file(swaggerCssPath), {
      headers: { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=86400' },
    }), { detail: { hide: true } })
    .use(
      openapi({
        path: '/swagger',
        specPath: '/swagger/json',
        provider: 'swagger-ui',
        swagger: {
          cdn: `${ASSETS}/swagger-ui-bundle.js`,
          theme: `${ASSETS}/swagger-ui.css`,
          persistAuthorization: true,
        } as Record<string, unknown>,
        documentation: {
          info: {
            title: 'AIGC backend API',
            version,
            description:
              '文生图 / 图生图 / 文生视频 / 图生视频 后端接口。所有业务结果均为 HTTP 200，含义见响应体 `code`；' +
              '仅当 token 缺失、无效、过期或被撤销时返回 HTTP 401。\n\n' +
              'Every business outcome is HTTP 200 with the meaning in the body `code` ' +
              '(`{code, message, data?}`); HTTP 401 only for a missing, bad, expired or revoked bearer token; ' +
              'validation failures are HTTP 200 + code 400 naming the field (never 422); unknown routes 404; ' +
              'bodies over the limit 413; rate limits 429 with Retry-After; unexpected errors 500 with a request id.',
          },
          components: {
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            },
          },
        },
      }),
    );
