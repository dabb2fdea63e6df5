import { Elysia } from 'elysia';
import type { Db } from '../../db/client';
import type { Tokens } from '../../http/tokens';

/** Endpoints 8, 9, 10, 16: the favorites tree. */
export const favoritesModule = (d: { db: Db; tokens: Tokens; batchMax: number }) =>
  new Elysia({ prefix: '/api/v1/user', tags: ['内容管理 / favorites'] });
