// Media facts shared by uploads, the providers and the runner: what a file is (by its bytes), its size in
// pixels, and a full decode. Nothing here trusts a declared Content-Type.
export { decodeImage, probeImageSize, sniffImage } from './image';
export type { ImageKind, RGBAImage } from './types';
import { sniffImage } from './image';

export interface MediaKind {
  kind: 'image' | 'video';
  mime: string;
  ext: string;
}

const IMAGE: Record<string, MediaKind> = {
  png: { kind: 'image', mime: 'image/png', ext: 'png' },
  jpeg: { kind: 'image', mime: 'image/jpeg', ext: 'jpg' },
  webp: { kind: 'image', mime: 'image/webp', ext: 'webp' },
  gif: { kind: 'image', mime: 'image/gif', ext: 'gif' },
};

/** The kind of a media file from its first bytes: PNG, JPEG, WebP, GIF images; MP4/MOV (ISO BMFF) and WebM videos. */
export function sniffMedia(bytes: Uint8Array): MediaKind | null {
  const image = sniffImage(bytes);
  if (image) return IMAGE[image];
  if (bytes.length >= 12) {
    const box = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
    if (box === 'ftyp') {
      const brand = String.fromCharCode(bytes[8], bytes[9], bytes[10], bytes[11]);
      return brand === 'qt  ' ? { kind: 'video', mime: 'video/quicktime', ext: 'mov' } : { kind: 'video', mime: 'video/mp4', ext: 'mp4' };
    }
    if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) {
      return { kind: 'video', mime: 'video/webm', ext: 'webm' };
    }
  }
  return null;
}
