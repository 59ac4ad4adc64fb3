/**
 * A tiny RGBA canvas for report pictures (browser-safe): filled rectangles, frames, upscaled grey images,
 * and text in a 5x7 bitmap font (upper-case letters, digits and a few signs; lower case is drawn upper case).
 *
 * @example
 * const c = new Canvas(120, 40, [255, 255, 255]);
 * c.text(4, 4, 'ANKLE BOOT 97%', [0, 0, 0], 2);
 * c.image.rgba; // Uint8ClampedArray, 4 bytes per pixel
 */
import type { RgbaImage } from './image.js';

export type Rgb = readonly [number, number, number];

/** The classic 5x7 font: five column bytes per glyph, bit 0 is the top row. */
const FONT: Record<string, readonly number[]> = {
  ' ': [0, 0, 0, 0, 0],
  '0': [0x3e, 0x51, 0x49, 0x45, 0x3e], '1': [0x00, 0x42, 0x7f, 0x40, 0x00], '2': [0x42, 0x61, 0x51, 0x49, 0x46],
  '3': [0x21, 0x41, 0x45, 0x4b, 0x31], '4': [0x18, 0x14, 0x12, 0x7f, 0x10], '5': [0x27, 0x45, 0x45, 0x45, 0x39],
  '6': [0x3c, 0x4a, 0x49, 0x49, 0x30], '7': [0x01, 0x71, 0x09, 0x05, 0x03], '8': [0x36, 0x49, 0x49, 0x49, 0x36],
  '9': [0x06, 0x49, 0x49, 0x29, 0x1e],
  A: [0x7e, 0x11, 0x11, 0x11, 0x7e], B: [0x7f, 0x49, 0x49, 0x49, 0x36], C: [0x3e, 0x41, 0x41, 0x41, 0x22],
  D: [0x7f, 0x41, 0x41, 0x22, 0x1c], E: [0x7f, 0x49, 0x49, 0x49, 0x41], F: [0x7f, 0x09, 0x09, 0x09, 0x01],
  G: [0x3e, 0x41, 0x49, 0x49, 0x7a], H: [0x7f, 0x08, 0x08, 0x08, 0x7f], I: [0x00, 0x41, 0x7f, 0x41, 0x00],
  J: [0x20, 0x40, 0x41, 0x3f, 0x01], K: [0x7f, 0x08, 0x14, 0x22, 0x41], L: [0x7f, 0x40, 0x40, 0x40, 0x40],
  M: [0x7f, 0x02, 0x0c, 0x02, 0x7f], N: [0x7f, 0x04, 0x08, 0x10, 0x7f], O: [0x3e, 0x41, 0x41, 0x41, 0x3e],
  P: [0x7f, 0x09, 0x09, 0x09, 0x06], Q: [0x3e, 0x41, 0x51, 0x21, 0x5e], R: [0x7f, 0x09, 0x19, 0x29, 0x46],
  S: [0x46, 0x49, 0x49, 0x49, 0x31], T: [0x01, 0x01, 0x7f, 0x01, 0x01], U: [0x3f, 0x40, 0x40, 0x40, 0x3f],
  V: [0x1f, 0x20, 0x40, 0x20, 0x1f], W: [0x3f, 0x40, 0x38, 0x40, 0x3f], X: [0x63, 0x14, 0x08, 0x14, 0x63],
  Y: [0x07, 0x08, 0x70, 0x08, 0x07], Z: [0x61, 0x51, 0x49, 0x45, 0x43],
  '-': [0x08, 0x08, 0x08, 0x08, 0x08], '/': [0x20, 0x10, 0x08, 0x04, 0x02], '.': [0x00, 0x60, 0x60, 0x00, 0x00],
  '%': [0x23, 0x13, 0x08, 0x64, 0x62], ':': [0x00, 0x36, 0x36, 0x00, 0x00], '_': [0x40, 0x40, 0x40, 0x40, 0x40],
  '(': [0x00, 0x1c, 0x22, 0x41, 0x00], ')': [0x00, 0x41, 0x22, 0x1c, 0x00], '?': [0x02, 0x01, 0x51, 0x09, 0x06],
  '>': [0x41, 0x22, 0x14, 0x08, 0x00], '<': [0x08, 0x14, 0x22, 0x41, 0x00], '=': [0x14, 0x14, 0x14, 0x14, 0x14],
};

/** Width in pixels of `text` at `scale` (6 pixels per character: 5 + 1 spacing). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * 6 - 1) * scale;
}

export class Canvas {
  readonly image: RgbaImage;

  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`Canvas: size must be positive integers, got ${width}x${height}`);
    }
    this.image = { width, height, rgba: new Uint8ClampedArray(width * height * 4) };
    this.fill(0, 0, width, height, background);
  }

  pixel(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const p = (y * this.width + x) * 4;
    const d = this.image.rgba;
    d[p] = c[0];
    d[p + 1] = c[1];
    d[p + 2] = c[2];
    d[p + 3] = 255;
  }

  fill(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy++) {
      for (let xx = Math.max(0, x); xx < Math.min(this.width, x + w); xx++) this.pixel(xx, yy, c);
    }
  }

  /** A frame of `thickness` pixels inside the rectangle. */
  frame(x: number, y: number, w: number, h: number, thickness: number, c: Rgb): void {
    this.fill(x, y, w, thickness, c);
    this.fill(x, y + h - thickness, w, thickness, c);
    this.fill(x, y, thickness, h, c);
    this.fill(x + w - thickness, y, thickness, h, c);
  }

  /**
   * Draw a [C, H, W] image with values in [0, 1] (C = 1 grey or 3 RGB), each pixel as a `scale`x`scale` block.
   */
  drawImage(x: number, y: number, pixels: ArrayLike<number>, channels: number, h: number, w: number, scale = 1): void {
    const plane = h * w;
    for (let r = 0; r < h; r++) {
      for (let col = 0; col < w; col++) {
        const at = r * w + col;
        const v = (k: number): number => Math.round(Math.min(1, Math.max(0, pixels[k * plane + at]!)) * 255);
        const c: Rgb = channels >= 3 ? [v(0), v(1), v(2)] : [v(0), v(0), v(0)];
        this.fill(x + col * scale, y + r * scale, scale, scale, c);
      }
    }
  }

  /** Draw text with its top-left corner at (x, y); unknown characters are drawn as '?'. */
  text(x: number, y: number, text: string, c: Rgb, scale = 1): void {
    let cx = x;
    for (const ch of text.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT['?']!;
      for (let col = 0; col < 5; col++) {
        const bits = glyph[col]!;
        for (let row = 0; row < 7; row++) {
          if (bits & (1 << row)) this.fill(cx + col * scale, y + row * scale, scale, scale, c);
        }
      }
      cx += 6 * scale;
    }
  }
}

/** Shorten `text` to at most `maxChars` characters (with a trailing '.'). */
export function fitText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : text.slice(0, Math.max(1, maxChars - 1)) + '.';
}
