/**
 * Experiment 6, the hierarchy of features: first-layer filters, feature maps at each depth for a few test
 * images, the receptive field of every layer, and, for a few channels per layer, the test-image patches (the
 * unit's receptive field) that activate them most. "Class-specific" is measured, not only shown: for each
 * channel, the share of its top patches that come from its most frequent class (10% would be chance).
 */
import { summary } from '../../inspect/summary.js';
import type { Module } from '../../nn/module.js';
import type { ImageDataset } from '../../data/dataset.js';
import { tileGrid, stackVertically, type Tile } from '../../viz/image.js';
import { traceLayers } from '../probe.js';
import { imagesOf } from '../train.js';
import { describeBudget, protocolOf, referenceModel } from '../protocol.js';
import { count, markdownTable, pct } from '../stats.js';
import type { Experiment, Judgement, Metrics } from '../types.js';

interface TopPatch { image: number; y: number; x: number; value: number; label: number }

function weightTiles(model: Module): Tile[] {
  const first = model.parameters()[0]!;
  const [o, , kh, kw] = first.shape as [number, number, number, number];
  return Array.from({ length: o }, (_, i) => ({ values: first.data.slice(i * kh * kw, (i + 1) * kh * kw), width: kw, height: kh }));
}

/** The receptive-field window of output unit (y, x) cut from the raw image (0 outside the image). */
function cropPatch(ds: ImageDataset, image: number, cy: number, cx: number, size: number): Tile {
  const img = ds.getImage(image);
  const values = new Float32Array(size * size);
  const y0 = Math.round(cy - (size - 1) / 2);
  const x0 = Math.round(cx - (size - 1) / 2);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sy = y0 + y;
      const sx = x0 + x;
      values[y * size + x] = sy >= 0 && sy < ds.height && sx >= 0 && sx < ds.width ? img[sy * ds.width + sx]! : 0;
    }
  }
  return { values, width: size, height: size };
}

/** One patch: the receptive field of a unit cut from a test image, and how strongly the unit fired. */
export interface ActivatingPatch {
  image: number;
  label: number;
  /** The unit's position in the layer's output. */
  y: number;
  x: number;
  value: number;
  /** patchSize x patchSize raw pixels in [0, 1] (0 outside the image). */
  pixels: Float32Array;
}

export interface ChannelPatches {
  channel: number;
  /** The strongest `patchesPerChannel` images (one patch per image: its strongest position). */
  patches: ActivatingPatch[];
  /** The most frequent class among the channel's top max(patchesPerChannel, 20) images, and its share. */
  topClass: string;
  purity: number;
}

export interface DepthPatches {
  /** The ReLU layer's path (`features.1`). */
  path: string;
  /** Its receptive field [rows, cols] in input pixels. */
  receptiveField: [number, number];
  /** Side of the crops (the receptive field, at most the image size). */
  patchSize: number;
  channels: ChannelPatches[];
}

export interface TopPatchOptions {
  /** Test images searched (the first ones). */
  searchImages: number;
  channelsPerLayer: number;
  patchesPerChannel: number;
  /** Model input for images `indices` ([n, C, H, W]); default: `imagesOf` (the lab's Fashion-MNIST normalization). */
  images?: (indices: number[]) => { data: Float32Array; shape: [number, number, number, number] };
  modelName?: string;
}

/**
 * For every ReLU layer with a spatial output (the depths of a plain chain of layers, see `traceLayers`) and its
 * first `channelsPerLayer` channels: the test-image patches that activate the channel most.
 */
export function topActivatingPatches(model: Module, dataset: ImageDataset, o: TopPatchOptions): DepthPatches[] {
  const images = o.images ?? ((idx: number[]) => imagesOf(dataset, idx));
  const s = summary(model, [dataset.channels, dataset.height, dataset.width]);
  const fields = new Map(s.rows.filter((r) => r.leaf).map((r) => [r.path, r.receptiveField]));
  const probe = images([0]);
  const trace0 = traceLayers(model, probe.data, probe.shape, o.modelName);
  const reluDepths = trace0.map((out, i) => ({ o: out, i })).filter(({ o: out }) => out.shape.length === 4 && out.type === 'ReLU');
  const search = Math.min(o.searchImages, dataset.length);
  const best: TopPatch[][][] = reluDepths.map(({ o: out }) => Array.from({ length: Math.min(o.channelsPerLayer, out.shape[1]!) }, () => []));
  const chunk = 100;
  for (let start = 0; start < search; start += chunk) {
    const idx = Array.from({ length: Math.min(chunk, search - start) }, (_, k) => start + k);
    const x = images(idx);
    const trace = traceLayers(model, x.data, x.shape, o.modelName);
    reluDepths.forEach(({ i }, d) => {
      const out = trace[i]!;
      const [n, c, hh, ww] = out.shape as [number, number, number, number];
      best[d]!.forEach((list, ch) => {
        for (let b = 0; b < n; b++) {
          const base = (b * c + ch) * hh * ww;
          let bi = 0;
          for (let q = 1; q < hh * ww; q++) if (out.data[base + q]! > out.data[base + bi]!) bi = q;
          list.push({ image: idx[b]!, y: Math.floor(bi / ww), x: bi % ww, value: out.data[base + bi]!, label: dataset.labels[idx[b]!]! });
        }
        list.sort((a, z) => z.value - a.value);
        list.length = Math.min(list.length, Math.max(o.patchesPerChannel, 20));
      });
    });
  }
  return reluDepths.map(({ o: out }, d) => {
    const rf = fields.get(out.path);
    if (!rf) throw new Error(`lab: no receptive field for ${out.path}`);
    const size = Math.min(dataset.height, rf.size[0]);
    const channels = best[d]!.map((list, ch) => {
      const patches = list.slice(0, o.patchesPerChannel).map((t) => ({
        ...t, pixels: cropPatch(dataset, t.image, rf.start[0] + t.y * rf.jump[0], rf.start[1] + t.x * rf.jump[1], size).values as Float32Array,
      }));
      const counts = new Map<number, number>();
      for (const t of list) counts.set(t.label, (counts.get(t.label) ?? 0) + 1);
      const [topClass, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
      return { channel: ch, patches, topClass: dataset.classNames[topClass] ?? String(topClass), purity: list.length ? n / list.length : NaN };
    });
    return { path: out.path, receptiveField: [rf.size[0], rf.size[1]], patchSize: size, channels };
  });
}

/** The ReLU layers in `metrics` (`vggsmall LAYER purity`), in depth order. */
function purityLayers(metrics: Metrics): string[] {
  return Object.keys(metrics).map((k) => /^vggsmall (\S+) purity$/.exec(k)?.[1]).filter((x): x is string => x !== undefined)
    .sort((a, b) => Number(a.split('.').at(-1)) - Number(b.split('.').at(-1)));
}

/**
 * The verdict from the mean class purity of each ReLU layer's channels (`vggsmall LAYER purity`: the share of a
 * channel's top images from its most frequent class): "holds" when it rises from the first layer to the last
 * and never falls in between, "partly holds" when it rises overall, otherwise "does not hold".
 */
export function judgeHierarchy(metrics: Metrics): Judgement {
  const layers = purityLayers(metrics);
  const purity = layers.map((l) => Math.max(...(metrics[`vggsmall ${l} purity`] ?? [NaN])));
  const rises = purity.length > 1 && purity.at(-1)! > purity[0]!;
  const monotonic = purity.every((q, i) => i === 0 || q >= purity[i - 1]!);
  return {
    verdict: rises && monotonic ? 'holds' : rises ? 'partly holds' : 'does not hold',
    summary: `The share of a channel's top images from one class goes ${purity.map((q) => pct(q)).join(' -> ')} layer by layer (${layers.join(', ')}; 10% = chance)${monotonic ? '' : ', not monotonically'}.`,
  };
}

export const hierarchyExperiment: Experiment = {
  name: 'hierarchy',
  index: 6,
  title: 'A hierarchy of features: edges first, larger and more class-specific patterns later',
  claim: 'Early layers detect local edges and strokes; deeper layers, with larger receptive fields, respond to larger and more class-specific patterns.',
  defaultSeeds: { full: 1, quick: 1, smoke: 1 },
  judge: judgeHierarchy,
  metricOrder: (metrics) => purityLayers(metrics).map((l) => `vggsmall ${l} purity`),
  async run(ctx) {
    const p = protocolOf(ctx);
    const h = p.hierarchy;
    const data = await ctx.data();
    const vgg = await referenceModel(ctx, 'vggsmall', 'cnn');
    const lenet = await referenceModel(ctx, 'lenet5', 'cnn');
    // 1. First-layer filters.
    ctx.output.image('hierarchy/filters-vggsmall.png', tileGrid(weightTiles(vgg.model), { columns: 8, scale: 16, normalize: 'per-tile', colormap: 'diverging' }));
    ctx.output.image('hierarchy/filters-lenet5.png', tileGrid(weightTiles(lenet.model), { columns: 6, scale: 16, normalize: 'per-tile', colormap: 'diverging' }));
    // 2. Receptive field of every layer.
    const s = summary(vgg.model, [1, 28, 28]);
    const leafRows = s.rows.filter((r) => r.leaf);
    const rfTable = markdownTable(['layer', 'type', 'output', 'receptive field', 'jump (stride)', 'parameters'],
      leafRows.map((r) => [r.path, r.type, r.outputShape.slice(1).join('x'), r.receptiveField ? `${r.receptiveField.size[0]}x${r.receptiveField.size[1]}` : '-', r.receptiveField ? String(r.receptiveField.jump[0]) : '-', count(r.params)]));
    // Depths shown: the output of every ReLU and pooling layer with a spatial output.
    const probe = imagesOf(data.test, [0]);
    const trace0 = traceLayers(vgg.model, probe.data, probe.shape, 'vggsmall');
    const depths = trace0.map((o, i) => ({ o, i })).filter(({ o }) => o.shape.length === 4 && (o.type === 'ReLU' || o.type.includes('Pool')));
    // 3. Feature maps at each depth for chosen test images (one of each of the first classes).
    const chosen: number[] = [];
    for (let c = 0; chosen.length < Math.min(h.images, data.test.numClasses); c += 3) {
      const idx = Array.from(data.test.labels).indexOf(c % data.test.numClasses);
      if (idx >= 0 && !chosen.includes(idx)) chosen.push(idx);
      if (c > 30) break;
    }
    const mapFiles: string[] = [];
    for (const image of chosen) {
      const x = imagesOf(data.test, [image]);
      const trace = traceLayers(vgg.model, x.data, x.shape, 'vggsmall');
      const rows = [tileGrid([{ values: data.test.getImage(image), width: 28, height: 28 }], { scale: 4, normalize: 'fixed', range: [0, 1] })];
      for (const { i } of depths) {
        const o = trace[i]!;
        const [, c, hh, ww] = o.shape as [number, number, number, number];
        const tiles = Array.from({ length: Math.min(8, c) }, (_, ch) => ({ values: o.data.subarray(ch * hh * ww, (ch + 1) * hh * ww), width: ww, height: hh }));
        rows.push(tileGrid(tiles, { columns: 8, scale: Math.max(1, Math.round(112 / ww)), normalize: 'per-tile' }));
      }
      const name = `hierarchy/feature-maps-${image}.png`;
      ctx.output.image(name, stackVertically(rows, 6));
      mapFiles.push(`![feature maps of test image ${image} (${data.test.classNames[data.test.labels[image]!]})](${name})`);
    }
    // 4. Top-activating patches per channel, for the ReLU outputs (one entry per image: its strongest position).
    const search = Math.min(h.searchImages, data.test.length);
    const found = topActivatingPatches(vgg.model, data.test, { searchImages: search, channelsPerLayer: h.channelsPerLayer, patchesPerChannel: h.patchesPerChannel, modelName: 'vggsmall' });
    const purityRows: string[][] = [];
    const patchFiles: string[] = [];
    const purity: { layer: string; receptiveField: number; meanPurity: number; channels: { channel: number; topClass: string; purity: number }[] }[] = [];
    for (const depth of found) {
      const size = depth.patchSize;
      const tiles: Tile[] = depth.channels.flatMap((c) => c.patches.map((p) => ({ values: p.pixels, width: size, height: size })));
      const channels = depth.channels.map((c) => ({ channel: c.channel, topClass: c.topClass, purity: c.purity }));
      const name = `hierarchy/top-patches-${depth.path.replace(/\./g, '-')}.png`;
      ctx.output.image(name, tileGrid(tiles, { columns: h.patchesPerChannel, scale: Math.max(2, Math.round(48 / size)), normalize: 'fixed', range: [0, 1] }));
      patchFiles.push(`${depth.path} (receptive field ${depth.receptiveField[0]}x${depth.receptiveField[1]}), one row per channel ${channels.map((c) => c.channel).join(', ')}:\n\n![top patches ${depth.path}](${name})`);
      const meanPurity = channels.reduce((a, c) => a + c.purity, 0) / channels.length;
      purity.push({ layer: depth.path, receptiveField: depth.receptiveField[0], meanPurity, channels });
      purityRows.push([depth.path, `${depth.receptiveField[0]}x${depth.receptiveField[1]}`, pct(meanPurity), channels.map((c) => `${c.channel}: ${c.topClass} ${pct(c.purity, 0)}`).join('; ')]);
    }
    const metrics: Metrics = Object.fromEntries(purity.map((q) => [`vggsmall ${q.layer} purity`, [q.meanPurity]]));
    const judgement = judgeHierarchy(metrics);
    const monotonic = purity.every((q, i) => i === 0 || q.meanPurity >= purity[i - 1]!.meanPurity);
    const md = [
      'First-layer filters (blue negative, red positive; each filter on its own scale). vggsmall (3x3):',
      '',
      '![vggsmall filters](hierarchy/filters-vggsmall.png)',
      '',
      'LeNet-5 (5x5):',
      '',
      '![lenet5 filters](hierarchy/filters-lenet5.png)',
      '',
      'Receptive field of every vggsmall layer (size in input pixels; jump = input pixels between neighbouring units):',
      '',
      rfTable,
      '',
      `Feature maps (first 8 channels) after each ReLU and pooling layer, top to bottom: input, ${depths.map(({ o }) => o.path).join(', ')}:`,
      '',
      ...mapFiles.flatMap((f) => [f, '']),
      `Top-activating test patches (each unit's receptive field cut from the image; the strongest position per image, top ${h.patchesPerChannel} of ${count(search)} test images):`,
      '',
      ...patchFiles.flatMap((f) => [f, '']),
      `Class specificity: the share of a channel's top ${Math.min(20, search)} images that belong to its most frequent class (10 classes: 10% is chance):`,
      '',
      markdownTable(['layer', 'receptive field', 'mean share of the top class', 'per channel'], purityRows),
    ].join('\n');
    return {
      verdict: judgement.verdict,
      metrics,
      summary: `Receptive fields grow from ${purity[0]?.receptiveField ?? '-'} to ${purity.at(-1)?.receptiveField ?? '-'} pixels across the ReLU layers; the share of a channel's top images from one class goes ${purity.map((q) => pct(q.meanPurity)).join(' -> ')} layer by layer (10% = chance)${monotonic ? '' : ', not monotonically'}.`,
      protocol: `vggsmall trained on ${vgg.trainImages.toLocaleString('en-US')} images of the training part of the validation split, ${describeBudget(p.reference.cnn)}, seed 0, no augmentation (validation accuracy of the kept weights ${(vgg.validationAccuracy * 100).toFixed(1)}%, epoch ${vgg.outcome.bestEpoch} of ${vgg.outcome.epochsRun}; LeNet-5 likewise for its filters); top patches searched over the first ${count(search)} test images, channels 0-${h.channelsPerLayer - 1} of each ReLU layer.`,
      markdown: md,
      results: { receptiveFields: leafRows.map((r) => ({ path: r.path, type: r.type, outputShape: r.outputShape, receptiveField: r.receptiveField })), chosenImages: chosen, purity },
    };
  },
};
