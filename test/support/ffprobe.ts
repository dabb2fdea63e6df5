// ffprobe from the @ffprobe-installer dev dependency (a binary shipped inside the npm package), so every
// machine that ran `npm install` can decode the generated videos with an independent decoder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ffprobe from '@ffprobe-installer/ffprobe';

/** Frames that ffprobe actually decodes from the first video stream, with its codec name and size. */
export async function probeVideo(bytes: Uint8Array): Promise<{ frames: number; codec: string; width: number; height: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'probe-'));
  const path = join(dir, 'v.mp4');
  try {
    await Bun.write(path, bytes);
    const p = Bun.spawnSync([
      ffprobe.path, '-v', 'error', '-count_frames', '-select_streams', 'v:0',
      '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', path,
    ]);
    if (p.exitCode !== 0) throw new Error(`ffprobe failed: ${p.stderr.toString()}`);
    const s = JSON.parse(p.stdout.toString()).streams[0];
    return { frames: Number(s.nb_read_frames), codec: s.codec_name, width: s.width, height: s.height };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ffmpeg from the @ffmpeg-installer dev dependency (a static build with libx264): the server's FFMPEG_PATH in tests. */
export const ffmpegPath: string = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
