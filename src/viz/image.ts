/**
 * Pixel pictures as RGBA buffers (browser-safe): maps of numbers to grey or a diverging blue-white-red scale,
 * nearest-neighbour upscaling, and grids of tiles (filters, feature maps, image patches). Encode the result
 * as PNG in Node with `encodePng` (src/node/vizPng.ts) or draw it into a canvas `ImageData` in a browser.
 *
 * @example
 * const tiles = filters.map((f) => ({ values: f, width: 5, height: 5 }));
 * const picture = tileGrid(tiles, { columns: 8, scale: 8, normalize: 'per-tile', colormap: 'diverging' });
 * // picture.rgba: Uint8ClampedArray of picture.width * picture.height * 4
 */

export interface RgbaImage {
  width: number;
  height: number;
  /** Row-major RGBA, 4 bytes per pixel. */
  rgba: Uint8ClampedArray;
}

/** A single-channel map of numbers (e.g. a filter, a feature map or an image patch). */
export interface Tile {
  values: ArrayLike<number>;
  width: number;
  height: number;
}

export type Colormap = 'gray' | 'diverging';

/**
 * How values become colours: 'per-tile' stretches each tile's own [min, max] (or ±max|v| for 'diverging');
 * 'global' uses one range for all tiles; 'fixed' uses `range`.
 */
export type Normalization = 'per-tile' | 'global' | 'fixed';

export interface TileGridOptions {
  /** Tiles per row (default: ceil(sqrt(count))). */
  columns?: number;
  /** Integer upscaling of each tile pixel (default 1). */
  scale?: number;
  /** Gap between tiles, in output pixels (default 2). */
  gap?: number;
  normalize?: Normalization;
  range?: readonly [number, number];
  colormap?: Colormap;
  /** Background colour of the gaps (default light grey). */
  background?: readonly [number, number, number];
}

/** One value in [0, 1] (gray) or [-1, 1] (diverging) to RGB. */
function colour(t: number, map: Colormap): [number, number, number] {
  if (map === 'gray') {
    const g = Math.round(Math.min(1, Math.max(0, t)) * 255);
    return [g, g, g];
  }
  const u = Math.min(1, Math.max(-1, t));
  // blue (negative) - white (zero) - red (positive)
  if (u < 0) {
    const a = -u;
    return [Math.round(255 * (1 - a) + 33 * a), Math.round(255 * (1 - a) + 102 * a), Math.round(255 * (1 - a) + 172 * a)];
  }
  return [Math.round(255 * (1 - u) + 178 * u), Math.round(255 * (1 - u) + 24 * u), Math.round(255 * (1 - u) + 43 * u)];
}

function rangeOf(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

/** Scale a value into the colormap's domain for a given range. */
function toUnit(v: number, range: readonly [number, number], map: Colormap): number {
  if (map === 'diverging') {
    const m = Math.max(Math.abs(range[0]), Math.abs(range[1])) || 1;
    return v / m;
  }
  const span = range[1] - range[0];
  return span > 0 ? (v - range[0]) / span : 0.5;
}

/** Lay tiles out in a grid, each upscaled and coloured; see `TileGridOptions`. */
export function tileGrid(tiles: readonly Tile[], options: TileGridOptions = {}): RgbaImage {
  if (tiles.length === 0) throw new Error('tileGrid: no tiles');
  const scale = options.scale ?? 1;
  const gap = options.gap ?? 2;
  const map = options.colormap ?? 'gray';
  const norm = options.normalize ?? 'per-tile';
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`tileGrid: scale must be a positive integer, got ${scale}`);
  for (const [i, t] of tiles.entries()) {
    if (t.values.length !== t.width * t.height) throw new Error(`tileGrid: tile ${i} has ${t.values.length} values for ${t.width}x${t.height}`);
  }
  const columns = options.columns ?? Math.ceil(Math.sqrt(tiles.length));
  const rows = Math.ceil(tiles.length / columns);
  const cellW = Math.max(...tiles.map((t) => t.width)) * scale;
  const cellH = Math.max(...tiles.map((t) => t.height)) * scale;
  const width = columns * cellW + (columns + 1) * gap;
  const height = rows * cellH + (rows + 1) * gap;
  const rgba = new Uint8ClampedArray(width * height * 4);
  const bg = options.background ?? [220, 220, 220];
  for (let p = 0; p < width * height; p++) {
    rgba[p * 4] = bg[0]!;
    rgba[p * 4 + 1] = bg[1]!;
    rgba[p * 4 + 2] = bg[2]!;
    rgba[p * 4 + 3] = 255;
  }
  let globalRange: [number, number] = [Infinity, -Infinity];
  if (norm === 'global') {
    for (const t of tiles) {
      const [lo, hi] = rangeOf(t.values);
      globalRange = [Math.min(globalRange[0], lo), Math.max(globalRange[1], hi)];
    }
  }
  tiles.forEach((t, k) => {
    const range = norm === 'fixed' ? (options.range ?? [0, 1]) : norm === 'global' ? globalRange : rangeOf(t.values);
    const ox = gap + (k % columns) * (cellW + gap);
    const oy = gap + Math.floor(k / columns) * (cellH + gap);
    for (let y = 0; y < t.height; y++) {
      for (let x = 0; x < t.width; x++) {
        const [r, g, b] = colour(toUnit(t.values[y * t.width + x]!, range, map), map);
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const p = ((oy + y * scale + dy) * width + ox + x * scale + dx) * 4;
            rgba[p] = r;
            rgba[p + 1] = g;
            rgba[p + 2] = b;
          }
        }
      }
    }
  });
  return { width, height, rgba };
}

/** Stack pictures vertically (left-aligned) with a gap, e.g. one grid per layer. */
export function stackVertically(images: readonly RgbaImage[], gap = 6, background: readonly [number, number, number] = [255, 255, 255]): RgbaImage {
  if (images.length === 0) throw new Error('stackVertically: no images');
  const width = Math.max(...images.map((i) => i.width));
  const height = images.reduce((s, i) => s + i.height, 0) + gap * (images.length - 1);
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba[p * 4] = background[0]!;
    rgba[p * 4 + 1] = background[1]!;
    rgba[p * 4 + 2] = background[2]!;
    rgba[p * 4 + 3] = 255;
  }
  let oy = 0;
  for (const img of images) {
    for (let y = 0; y < img.height; y++) rgba.set(img.rgba.subarray(y * img.width * 4, (y + 1) * img.width * 4), ((oy + y) * width) * 4);
    oy += img.height + gap;
  }
  return { width, height, rgba };
}
