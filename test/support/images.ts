// Reference images made in the tests (encoded with the engine's PNG writer; what is checked is read back independently).
import { encodePng } from '../../src/engine/local';

/** A small RGB gradient PNG to use as a reference image. */
export async function gradientPng(width: number, height: number): Promise<Uint8Array> {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = 128;
      data[i + 3] = 255;
    }
  return encodePng({ width, height, data });
}
