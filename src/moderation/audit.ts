// The audit trail of content review (issue 13): every verdict, with its provider, categories, scores and time, in
// the `moderation_verdicts` table (documented in README "Content safety and labelling").
import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import type { Db } from '../db/client';
import { moderationVerdicts } from '../db/schema';
import type { Verdict } from './types';

export type ReviewStage = 'prompt' | 'reference' | 'output';

/** What an audit row says was checked: the text (first 2,000 characters) or the files' sha-256. */
export function subjectOf(what: { text?: string; files?: Uint8Array[] }): string {
  const parts: string[] = [];
  if (what.text !== undefined) parts.push(what.text.slice(0, 2000));
  for (const f of what.files ?? []) parts.push(`sha256:${createHash('sha256').update(f).digest('hex')}`);
  return parts.join('\n');
}

export async function recordVerdict(
  db: Db,
  clock: Clock,
  r: { taskId: string | null; userId: number; stage: ReviewStage; verdict: Verdict; subject: string },
): Promise<void> {
  await db.insert(moderationVerdicts).values({
    taskId: r.taskId,
    userId: r.userId,
    stage: r.stage,
    provider: r.verdict.provider,
    decision: r.verdict.decision,
    categories: r.verdict.categories,
    scores: r.verdict.scores,
    matched: r.verdict.matched ?? null,
    unavailable: r.verdict.unavailable ?? false,
    subject: r.subject,
    message: r.verdict.message,
    createdAt: clock.now(),
  });
}
