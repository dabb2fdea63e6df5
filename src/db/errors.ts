/** The PostgreSQL error behind a driver/ORM error (postgres.js, PGlite, drizzle's wrapper), if any. */
export function pgError(e: unknown): { code: string; constraint: string } | null {
  for (let cur = e as Record<string, unknown> | undefined, depth = 0; cur && depth < 5; depth++) {
    if (typeof cur.code === 'string' && /^[0-9A-Z]{5}$/.test(cur.code)) {
      const constraint = String(cur.constraint_name ?? cur.constraint ?? '');
      return { code: cur.code, constraint };
    }
    cur = cur.cause as Record<string, unknown> | undefined;
  }
  return null;
}

export const isUniqueViolation = (e: unknown, constraint?: string) => {
  const pg = pgError(e);
  return !!pg && pg.code === '23505' && (constraint === undefined || pg.constraint === constraint);
};
