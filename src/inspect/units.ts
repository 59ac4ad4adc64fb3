/**
 * One unit of a feature map and the input pixels it sees (browser-safe): the explorer's hover read-out and
 * anything else that draws receptive fields on an image. The field comes from `summary(...)` rows
 * (receptive.ts: size, jump, start per axis); the layer-by-layer outputs come from `traceLayers`, re-exported
 * here from the lab so callers outside the lab need not reach into it.
 */
import type { ReceptiveField } from './receptive.js';

export { traceLayers, leafLayers, type LayerOutput } from '../lab/probe.js';

/** Input pixels as inclusive bounds: columns x0..x1, rows y0..y1. */
export interface PixelBounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The input pixels seen by the unit at (row, col) of a feature map with receptive field `rf`: the field's centre
 * is start + jump·index per axis and it spans size pixels. `full` may reach outside the image (padding);
 * `clipped` is its intersection with an input of [height, width] (null when they do not meet).
 */
export function unitField(rf: ReceptiveField, row: number, col: number, inputSize: readonly [number, number]):
  { full: PixelBounds; clipped: PixelBounds | null } {
  const axis = (i: 0 | 1, index: number): [number, number] => {
    const centre = rf.start[i] + rf.jump[i] * index;
    const half = (rf.size[i] - 1) / 2;
    // Fields of windows on whole pixels start and end on whole pixels; rounding only removes float noise.
    return [Math.round(centre - half), Math.round(centre + half)];
  };
  const [y0, y1] = axis(0, row);
  const [x0, x1] = axis(1, col);
  const full = { x0, y0, x1, y1 };
  const [h, w] = inputSize;
  const cx0 = Math.max(0, x0), cy0 = Math.max(0, y0), cx1 = Math.min(w - 1, x1), cy1 = Math.min(h - 1, y1);
  return { full, clipped: cx0 <= cx1 && cy0 <= cy1 ? { x0: cx0, y0: cy0, x1: cx1, y1: cy1 } : null };
}
