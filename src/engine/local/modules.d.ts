// Ambient declarations for untyped dependencies and asset imports.
declare module 'omggif' {
  export class GifReader {
    constructor(buf: Uint8Array);
    width: number;
    height: number;
    numFrames(): number;
    loopCount(): number;
    frameInfo(frameNum: number): {
      x: number;
      y: number;
      width: number;
      height: number;
      has_local_palette: boolean;
      palette_offset: number | null;
      palette_size: number | null;
      data_offset: number;
      data_length: number;
      transparent_index: number | null;
      interlaced: boolean;
      delay: number;
      disposal: number;
    };
    decodeAndBlitFrameRGBA(frameNum: number, pixels: Uint8Array | Uint8ClampedArray): void;
  }
  export class GifWriter {
    constructor(buf: Uint8Array, width: number, height: number, opts?: Record<string, unknown>);
    addFrame(x: number, y: number, w: number, h: number, indexed: Uint8Array | number[], opts?: Record<string, unknown>): number;
    end(): number;
  }
}

declare module '*.wasm' {
  const path: string;
  export default path;
}
