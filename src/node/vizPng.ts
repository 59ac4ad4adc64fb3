/** PNG encoding of the RGBA pictures made by src/viz (Node; uses the pure-JS `pngjs`). */
import { PNG } from 'pngjs';
import type { RgbaImage } from '../viz/image.js';

/** Encode an RGBA picture as PNG bytes. */
export function encodePng(picture: RgbaImage): Buffer {
  const { width, height, rgba } = picture;
  if (rgba.length !== width * height * 4) throw new Error(`encodePng: ${rgba.length} bytes for a ${width}x${height} RGBA picture (expected ${width * height * 4})`);
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png);
}

/** Decode PNG bytes to an RGBA picture (used by tests to check what was written). */
export function decodePng(bytes: Buffer): RgbaImage {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height, rgba: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}
