export type ImageKind = 'png' | 'jpeg' | 'webp' | 'gif';

export interface RGBAImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row-major, no padding. */
  data: Uint8Array;
}
