// The wasm backend's direct convolution kernels (asm/direct.ts): which geometries take them (directConvAlgorithms, the
// pure rule the backend dispatches with), and that a full-size first layer gives the same bits on 1 and 2 threads
// and matches the reference backend. Kernel-level accuracy on many small shapes is in wasm-kernels.test.ts, and
// the PyTorch fixtures (test/fixtures/ops/conv2d.ckfx, run on wasm by op-suite.test.ts) include the
// shapes checked here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Conv2dGeometry } from '../../src/backend/backend.js';
import { referenceBackend as ref } from '../../src/backend/reference/index.js';
import { directConvAlgorithms } from '../../src/backend/wasm/conv-algorithm.js';
import { loadWasmBackend } from '../../src/backend/wasm/index.js';

function convGeometry(o: Partial<Conv2dGeometry> & { n: number; cIn: number; h: number; w: number; cOut: number; kh: number; kw: number }): Conv2dGeometry {
  const g = { strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, outH: 0, outW: 0, ...o };
  g.outH = Math.floor((g.h + 2 * g.padH - g.dilationH * (g.kh - 1) - 1) / g.strideH) + 1;
  g.outW = Math.floor((g.w + 2 * g.padW - g.dilationW * (g.kw - 1) - 1) / g.strideW) + 1;
  return g;
}

const lenetConv1 = convGeometry({ n: 64, cIn: 1, h: 28, w: 28, cOut: 6, kh: 5, kw: 5, padH: 2, padW: 2 });

test('directConvAlgorithms sends first layers and depthwise convolutions (the fixture shapes) to the direct kernels', () => {
  const firstLayers = [
    lenetConv1,
    convGeometry({ n: 64, cIn: 1, h: 28, w: 28, cOut: 32, kh: 3, kw: 3, padH: 1, padW: 1 }), // vggsmall conv1
    convGeometry({ n: 64, cIn: 3, h: 32, w: 32, cOut: 16, kh: 3, kw: 3, padH: 1, padW: 1 }), // resnet20 conv1
    convGeometry({ n: 3, cIn: 1, h: 12, w: 13, cOut: 6, kh: 5, kw: 5, padH: 2, padW: 2 }), // fixture direct_c1_k5_p2_batch3
    convGeometry({ n: 2, cIn: 3, h: 11, w: 13, cOut: 5, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }), // direct_c3_k3_s2
  ];
  for (const g of firstLayers) {
    assert.deepEqual(directConvAlgorithms(g), { forward: 'direct', backwardWeight: 'direct', backwardInput: 'gemm' }, JSON.stringify(g));
  }
  const depthwise = [
    convGeometry({ n: 2, cIn: 6, h: 10, w: 11, cOut: 6, kh: 3, kw: 3, padH: 1, padW: 1, groups: 6 }), // depthwise_m1_s1_p1
    convGeometry({ n: 2, cIn: 3, h: 9, w: 14, cOut: 6, kh: 5, kw: 5, padH: 2, padW: 2, groups: 3 }), // depthwise_m2_s1_p2_k5
    convGeometry({ n: 2, cIn: 5, h: 11, w: 9, cOut: 5, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, groups: 5 }),
    convGeometry({ n: 1, cIn: 4, h: 12, w: 10, cOut: 8, kh: 3, kw: 3, strideH: 2, strideW: 2, groups: 4 }),
    convGeometry({ n: 8, cIn: 128, h: 14, w: 14, cOut: 128, kh: 3, kw: 3, padH: 1, padW: 1, groups: 128 }),
  ];
  for (const g of depthwise) {
    assert.deepEqual(directConvAlgorithms(g), { forward: 'direct', backwardWeight: 'direct', backwardInput: 'direct' }, JSON.stringify(g));
  }
});

test('directConvAlgorithms sends the input gradient of ungrouped stride-1 layers with whole 4-channel blocks on wide rows to the direct kernel', () => {
  // fixture direct_input_grad_c4_w29, and resnet20's 16 -> 16 layers
  assert.equal(directConvAlgorithms(convGeometry({ n: 2, cIn: 4, h: 6, w: 29, cOut: 3, kh: 3, kw: 3, padH: 1, padW: 1 })).backwardInput, 'direct');
  assert.equal(directConvAlgorithms(convGeometry({ n: 64, cIn: 16, h: 32, w: 32, cOut: 16, kh: 3, kw: 3, padH: 1, padW: 1 })).backwardInput, 'direct');
  // odd channel counts, strided, narrow rows: GEMM
  assert.equal(directConvAlgorithms(convGeometry({ n: 64, cIn: 6, h: 14, w: 14, cOut: 16, kh: 5, kw: 5 })).backwardInput, 'gemm');
  assert.equal(directConvAlgorithms(convGeometry({ n: 64, cIn: 16, h: 32, w: 32, cOut: 32, kh: 3, kw: 3, padH: 1, padW: 1, strideH: 2, strideW: 2 })).backwardInput, 'gemm');
  assert.equal(directConvAlgorithms(convGeometry({ n: 64, cIn: 32, h: 16, w: 16, cOut: 32, kh: 3, kw: 3, padH: 1, padW: 1 })).backwardInput, 'gemm');
});

test('directConvAlgorithms keeps the GEMM path where it measured faster', () => {
  // LeNet-5 conv2 (r 150): direct forward and weight gradient; its input gradient (16*25 taps) stays on the GEMM.
  assert.deepEqual(directConvAlgorithms(convGeometry({ n: 64, cIn: 6, h: 14, w: 14, cOut: 16, kh: 5, kw: 5 })),
    { forward: 'direct', backwardWeight: 'direct', backwardInput: 'gemm' });
  // r 288 on 14-wide rows: the direct weight gradient measured slower.
  assert.deepEqual(directConvAlgorithms(convGeometry({ n: 64, cIn: 32, h: 14, w: 14, cOut: 64, kh: 3, kw: 3, padH: 1, padW: 1 })),
    { forward: 'gemm', backwardWeight: 'gemm', backwardInput: 'gemm' });
  // vggsmall's 64 -> 64 3x3 at 14 px (r 576) and an ungrouped pointwise conv (read in place by the GEMM path).
  const gemm = { forward: 'gemm', backwardWeight: 'gemm', backwardInput: 'gemm' };
  assert.deepEqual(directConvAlgorithms(convGeometry({ n: 64, cIn: 64, h: 14, w: 14, cOut: 64, kh: 3, kw: 3, padH: 1, padW: 1 })), gemm);
  assert.deepEqual(directConvAlgorithms(convGeometry({ n: 64, cIn: 16, h: 8, w: 8, cOut: 32, kh: 1, kw: 1 })), gemm);
  // A weight gradient needs 4 taps for its tiles.
  assert.equal(directConvAlgorithms(convGeometry({ n: 2, cIn: 3, h: 8, w: 8, cOut: 3, kh: 1, kw: 1, groups: 3 })).backwardWeight, 'gemm');
});

test('LeNet-5 conv1 at batch 64: direct forward and weight gradient are bit-identical on 1 and 2 threads and match the reference', async () => {
  const wasm = await loadWasmBackend();
  const g = lenetConv1;
  let seed = 99;
  const random = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296 - 0.5; };
  const fill = (n: number) => Float32Array.from({ length: n }, random);
  const x = fill(g.n * g.cIn * g.h * g.w), w = fill(g.cOut * g.cIn * g.kh * g.kw), bias = fill(g.cOut);
  const gy = fill(g.n * g.cOut * g.outH * g.outW);
  const runs: { out: Float32Array; gw: Float32Array }[] = [];
  wasm.beginScope();
  try {
    for (const threads of [1, 2]) {
      await wasm.setThreads(threads);
      wasm.setParallelThreshold(0);
      const put = (a: Float32Array) => { const b = wasm.alloc(a.length); b.set(a); return b; };
      const out = wasm.alloc(gy.length), gw = wasm.alloc(w.length);
      wasm.conv2d(put(x), put(w), put(bias), g, out);
      wasm.conv2dBackwardWeight(put(x), put(gy), g, gw);
      runs.push({ out: out.slice(), gw: gw.slice() });
    }
  } finally {
    wasm.setParallelThreshold(20_000);
    wasm.endScope();
  }
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  assert.deepEqual(bits(runs[1]!.out), bits(runs[0]!.out), 'forward: 1 vs 2 threads');
  assert.deepEqual(bits(runs[1]!.gw), bits(runs[0]!.gw), 'weight gradient: 1 vs 2 threads');
  const wantOut = new Float32Array(gy.length), wantGw = new Float32Array(w.length);
  ref.conv2d(x, w, bias, g, wantOut);
  ref.conv2dBackwardWeight(x, gy, g, wantGw);
  // Normwise relative error (elementwise is meaningless where a sum of 50k signed terms cancels).
  const rel = (got: Float32Array, want: Float32Array) => {
    let err = 0, scale = 0;
    want.forEach((v, i) => { err = Math.max(err, Math.abs(got[i]! - v)); scale = Math.max(scale, Math.abs(v)); });
    return err / scale;
  };
  assert.ok(rel(runs[0]!.out, wantOut) < 1e-6, `forward error ${rel(runs[0]!.out, wantOut)}`);
  assert.ok(rel(runs[0]!.gw, wantGw) < 1e-5, `weight gradient error ${rel(runs[0]!.gw, wantGw)}`);
});

test('the direct forward kernel\'s fused epilogues (ReLU, 2x2 max pooling) give the bits of the separate kernels, on 1 and 2 threads', async () => {
  const wasm = await loadWasmBackend();
  const geometries = [
    convGeometry({ n: 3, cIn: 1, h: 28, w: 28, cOut: 6, kh: 5, kw: 5, padH: 2, padW: 2 }), // LeNet-5 conv1: 4 + 1 + 1 channels
    convGeometry({ n: 2, cIn: 6, h: 14, w: 14, cOut: 16, kh: 5, kw: 5 }), // LeNet-5 conv2: 10 px rows, partial vectors
    convGeometry({ n: 1, cIn: 3, h: 13, w: 11, cOut: 5, kh: 3, kw: 3, padH: 1, padW: 1 }), // odd output: last row, column dropped; 1 image, so row chunks
    convGeometry({ n: 2, cIn: 3, h: 19, w: 23, cOut: 4, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }), // stride 2
    convGeometry({ n: 2, cIn: 4, h: 12, w: 10, cOut: 8, kh: 3, kw: 3, padH: 1, padW: 1, groups: 4 }), // grouped
    convGeometry({ n: 1, cIn: 2, h: 9, w: 9, cOut: 16, kh: 3, kw: 3 }), // 8-channel pixel blocks: 7 px rows, 49 pixels (a partial group), row chunks
    convGeometry({ n: 2, cIn: 2, h: 9, w: 10, cOut: 16, kh: 2, kw: 2, padH: 1, padW: 1, groups: 2 }), // pixel blocks per group (8 channels each)
  ];
  let seed = 7;
  const random = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296 - 0.5; };
  const bits = (a: Float32Array) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
  wasm.beginScope();
  try {
    for (const threads of [1, 2]) {
      await wasm.setThreads(threads);
      wasm.setParallelThreshold(0);
      for (const g of geometries) {
        assert.equal(directConvAlgorithms(g).forward, 'direct', JSON.stringify(g));
        const put = (n: number) => { const b = wasm.alloc(n); for (let i = 0; i < n; i++) b[i] = random(); return b; };
        const x = put(g.n * g.cIn * g.h * g.w), w = put(g.cOut * (g.cIn / g.groups) * g.kh * g.kw), bias = put(g.cOut);
        x[3] = NaN; // a NaN input makes NaN outputs: ReLU maps them to 0 in both paths
        const pool = { n: g.n, c: g.cOut, h: g.outH, w: g.outW, kh: 2, kw: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH: g.outH >> 1, outW: g.outW >> 1 };
        for (const activation of ['none', 'relu'] as const) {
          for (const withBias of [true, false]) {
            const b = withBias ? bias : null;
            const conv = wasm.alloc(g.n * g.cOut * g.outH * g.outW);
            wasm.conv2d(x, w, b, g, conv);
            // The kernels themselves against the reference backend (the same taps in the same order, up to rounding).
            const want = new Float32Array(conv.length);
            ref.conv2d(Float32Array.from(x), Float32Array.from(w), b && Float32Array.from(b), g, want);
            want.forEach((v, i) => assert.ok(Math.abs(conv[i]! - v) <= 1e-5 * (1 + Math.abs(v)) || (Number.isNaN(v) && Number.isNaN(conv[i]!)), `conv output ${i}: ${conv[i]} vs reference ${v}`));
            if (activation === 'relu') wasm.biasActivation(conv, null, 1, conv.length, 'relu');
            const pooled = wasm.alloc(g.n * g.cOut * pool.outH * pool.outW);
            wasm.maxPool2d(conv, pool, pooled, null);
            const tag = `${threads} thread(s), ${activation}, bias ${withBias}, ${JSON.stringify(g)}`;
            const fusedPool = wasm.conv2dFused(x, w, b, g, { activation, maxPool2x2: true });
            assert.ok(fusedPool, `fused pooling taken: ${tag}`);
            assert.deepEqual(bits(fusedPool), bits(pooled), `conv + ${activation} + pool: ${tag}`);
            const fused = wasm.conv2dFused(x, w, b, g, { activation, maxPool2x2: false });
            assert.ok(fused, `fused activation taken: ${tag}`);
            assert.deepEqual(bits(fused), bits(conv), `conv + ${activation}: ${tag}`);
          }
        }
        assert.equal(wasm.conv2dFused(x, w, bias, g, { activation: 'tanh', maxPool2x2: true }), null, 'no fused tanh');
      }
    }
    // Geometries the direct kernel does not take: null, nothing allocated.
    const live = wasm.liveBytes();
    const big = convGeometry({ n: 1, cIn: 64, h: 14, w: 14, cOut: 64, kh: 3, kw: 3, padH: 1, padW: 1 });
    assert.equal(wasm.conv2dFused(new Float32Array(64 * 196), new Float32Array(64 * 64 * 9), null, big, { activation: 'relu', maxPool2x2: true }), null);
    assert.equal(wasm.liveBytes(), live);
  } finally {
    wasm.setParallelThreshold(20_000);
    wasm.endScope();
  }
});

test('direct weight gradient: images split into a fixed number of groups give the same bits on 1 and 2 threads and the reference\'s values', async () => {
  const wasm = await loadWasmBackend();
  // asm/direct.ts sums min(n, 4) consecutive image groups separately (whatever the thread count) and adds them in
  // order: 7 images make groups of 1-2, 3 images 3 groups of 1; a stride-2 layer, a 1x1 shortcut, a depthwise layer
  const geometries = [
    convGeometry({ n: 7, cIn: 3, h: 12, w: 11, cOut: 16, kh: 3, kw: 3, padH: 1, padW: 1 }),
    convGeometry({ n: 3, cIn: 16, h: 20, w: 19, cOut: 32, kh: 3, kw: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }),
    convGeometry({ n: 9, cIn: 16, h: 8, w: 8, cOut: 32, kh: 1, kw: 1, strideH: 2, strideW: 2 }),
    convGeometry({ n: 5, cIn: 6, h: 10, w: 11, cOut: 6, kh: 3, kw: 3, padH: 1, padW: 1, groups: 6 }),
  ];
  let seed = 7;
  const random = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296 - 0.5; };
  wasm.beginScope();
  try {
    for (const g of geometries) {
      assert.equal(directConvAlgorithms(g).backwardWeight, 'direct', JSON.stringify(g));
      const x = wasm.alloc(g.n * g.cIn * g.h * g.w).map(random), gy = wasm.alloc(g.n * g.cOut * g.outH * g.outW).map(random);
      const xs = wasm.alloc(x.length), gys = wasm.alloc(gy.length);
      xs.set(x); gys.set(gy);
      const gws: Float32Array[] = [];
      for (const threads of [1, 2]) {
        await wasm.setThreads(threads);
        wasm.setParallelThreshold(0);
        const gw = wasm.alloc(g.cOut * (g.cIn / g.groups) * g.kh * g.kw);
        gw.fill(Number.NaN);
        wasm.conv2dBackwardWeight(xs, gys, g, gw);
        gws.push(gw.slice());
      }
      const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
      assert.deepEqual(bits(gws[1]!), bits(gws[0]!), `1 vs 2 threads: ${JSON.stringify(g)}`);
      const want = new Float32Array(gws[0]!.length);
      ref.conv2dBackwardWeight(x, gy, g, want);
      let err = 0, scale = 0;
      want.forEach((v, i) => { err = Math.max(err, Math.abs(gws[0]![i]! - v)); scale = Math.max(scale, Math.abs(v)); });
      assert.ok(err / scale < 1e-6, `every image group counted once: error ${err / scale} on ${JSON.stringify(g)}`);
    }
  } finally {
    wasm.setParallelThreshold(20_000);
    wasm.endScope();
  }
});
