// Checks that a stored result is a provider's output with our AI-content labels (issue 13): the provider's pixels
// (images: unchanged outside the visible mark; videos: same size and frame count, decoded by ffprobe), the mark
// drawn (AIGC_LABEL=full), and exactly one metadata label that verifies.
import { expect } from 'bun:test';
import { inspectLabel } from '../../src/labels';
import { markGeometry } from '../../src/labels/visible';
import { decodeImage, sniffMedia } from '../../src/media';
import { testEnv } from './env';
import { probeVideo } from './ffprobe';

export async function expectLabelledCopy(stored: Uint8Array, original: Uint8Array, taskId?: string): Promise<void> {
  const env = await testEnv();
  const report = inspectLabel(stored, env.config.labels.verifyKeys);
  expect({ labelled: report.labelled, valid: report.valid, copies: report.copies }).toEqual({ labelled: true, valid: true, copies: 1 });
  if (taskId) expect(report.label?.ProduceID).toBe(taskId);
  const kind = sniffMedia(original);
  expect(kind).not.toBeNull();
  if (kind!.kind === 'video') {
    const [a, b] = await Promise.all([probeVideo(stored), probeVideo(original)]);
    expect({ width: a.width, height: a.height, frames: a.frames }).toEqual({ width: b.width, height: b.height, frames: b.frames });
    return;
  }
  const [a, b] = await Promise.all([decodeImage(stored), decodeImage(original)]);
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  const g = markGeometry(a.width, a.height);
  const inMark = (x: number, y: number) => x >= g.x && x < g.x + g.w && y >= g.y && y < g.y + g.h;
  let outside = 0;
  let outsideSum = 0;
  let outsideMax = 0;
  let insideChanged = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const i = (y * a.width + x) * 4;
      const d = Math.max(Math.abs(a.data[i] - b.data[i]), Math.abs(a.data[i + 1] - b.data[i + 1]), Math.abs(a.data[i + 2] - b.data[i + 2]));
      if (inMark(x, y)) {
        if (d > 16) insideChanged++;
      } else {
        outside++;
        outsideSum += d;
        outsideMax = Math.max(outsideMax, d);
      }
    }
  }
  // a lossless copy keeps every pixel outside the mark; a lossy re-encode (JPEG, WebP) stays close
  if (sniffMedia(stored)!.ext === 'png' && kind!.ext === 'png') expect(outsideMax).toBe(0);
  else expect(outsideSum / outside).toBeLessThan(4);
  if (env.config.labels.mode === 'full') expect(insideChanged).toBeGreaterThan(g.textHeight);
}
