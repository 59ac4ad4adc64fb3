/**
 * Regenerates data/fashion-mnist-subset/ (the real Fashion-MNIST subset shipped in the package) from the
 * full files, by default Debian's /usr/share/datasets/fashion-mnist/ (apt-get install dataset-fashion-mnist).
 *
 * Selection (deterministic, class-balanced): the first 200 images of each class in the training file
 * (2,000 in all) and the first 100 of each class in the test file (1,000), kept in file order, with
 * their real labels. Output: gzipped IDX files, plus SELECTION.json with the chosen indices.
 *
 *   npx tsx tools/make_subset.ts [SOURCE_DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeIdx, checkSameCount } from '../src/data/idx.js';
import { FASHION_MNIST, EMBEDDED_SUBSET } from '../src/data/catalog.js';
import { findSplitFiles } from '../src/node/datasets.js';
import { md5Hex, readIdxImagesFile, readIdxLabelsFile } from '../src/node/dataFiles.js';

const sourceDir = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const outDir = fileURLToPath(new URL('../data/fashion-mnist-subset/', import.meta.url));
mkdirSync(outDir, { recursive: true });

const selection: Record<string, unknown> = {};
for (const split of ['train', 'test'] as const) {
  const found = findSplitFiles(sourceDir, FASHION_MNIST, split);
  if (!found) throw new Error(`make_subset: no Fashion-MNIST ${split} files in ${sourceDir}`);
  const images = readIdxImagesFile(found.imagesPath);
  const labels = readIdxLabelsFile(found.labelsPath, 10);
  checkSameCount(images, found.imagesPath, labels, found.labelsPath);
  const perClass = EMBEDDED_SUBSET[split] / 10;
  const taken = new Int32Array(10);
  const indices: number[] = [];
  for (let i = 0; i < labels.length && indices.length < EMBEDDED_SUBSET[split]; i++) {
    const y = labels[i]!;
    if (taken[y]! < perClass) {
      taken[y]!++;
      indices.push(i);
    }
  }
  const per = images.height * images.width;
  const pixels = new Uint8Array(indices.length * per);
  const subLabels = new Uint8Array(indices.length);
  indices.forEach((src, k) => {
    pixels.set(images.pixels.subarray(src * per, (src + 1) * per), k * per);
    subLabels[k] = labels[src]!;
  });
  const files = FASHION_MNIST.splits[split];
  const imageIdx = encodeIdx([indices.length, images.height, images.width], pixels);
  const labelIdx = encodeIdx([indices.length], subLabels);
  // mtime 0 in the gzip header (zlib writes none) keeps the output byte-identical between runs
  writeFileSync(join(outDir, `${files.images.baseName}.gz`), gzipSync(imageIdx, { level: 9 }));
  writeFileSync(join(outDir, `${files.labels.baseName}.gz`), gzipSync(labelIdx, { level: 9 }));
  selection[split] = {
    source: found.imagesPath,
    count: indices.length,
    perClass,
    imagesContentMd5: md5Hex(imageIdx),
    labelsContentMd5: md5Hex(labelIdx),
    indices,
  };
  console.log(`${split}: ${indices.length} images (first ${perClass} of each class, last source index ${indices[indices.length - 1]})`);
}
writeFileSync(join(outDir, 'SELECTION.json'), JSON.stringify(selection) + '\n');
console.log(`wrote ${outDir}`);
