import type { BunFile } from 'bun';
import { AppError } from './envelope';

export const notFound = () => new AppError(404, '文件不存在', 404);

/** The file with Content-Type/Length, honouring a single `Range: bytes=a-b` (206) or answering 416. */
export function serveFile(file: BunFile, mime: string, range: string | null | undefined): Response {
  const size = file.size;
  const base = { 'content-type': mime, 'accept-ranges': 'bytes', 'cache-control': 'private, max-age=3600' };
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let start = NaN;
    let end = NaN;
    if (m && (m[1] || m[2])) {
      if (m[1]) {
        start = Number(m[1]);
        end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      } else {
        start = Math.max(0, size - Number(m[2])); // the last N bytes
        end = size - 1;
      }
    }
    if (!(start <= end && start < size)) {
      return new Response(null, { status: 416, headers: { ...base, 'content-range': `bytes */${size}` } });
    }
    return new Response(file.slice(start, end + 1), {
      status: 206,
      headers: { ...base, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) },
    });
  }
  return new Response(file, { headers: { ...base, 'content-length': String(size) } });
}
