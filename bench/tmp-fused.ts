import { loadWasmBackend } from '../src/backend/wasm/index.js';
const wasm = await loadWasmBackend();
await wasm.setThreads(1);
const geo = (o: any) => { const g = { strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, ...o }; g.outH = g.h + 2 * g.padH - g.kh + 1; g.outW = g.w + 2 * g.padW - g.kw + 1; return g; };
for (const g of [geo({ n: 256, cIn: 1, h: 28, w: 28, cOut: 6, kh: 5, kw: 5, padH: 2, padW: 2 }), geo({ n: 256, cIn: 6, h: 14, w: 14, cOut: 16, kh: 5, kw: 5 })]) {
  wasm.beginScope();
  const put = (n: number) => { const b = wasm.alloc(n); for (let i = 0; i < n; i++) b[i] = Math.random() - 0.5; return b; };
  const x = put(g.n * g.cIn * g.h * g.w), w = put(g.cOut * g.cIn * g.kh * g.kw), bias = put(g.cOut);
  for (const ep of [{ activation: 'none', maxPool2x2: false }, { activation: 'relu', maxPool2x2: false }, { activation: 'relu', maxPool2x2: true }, { activation: 'none', maxPool2x2: true }] as const) {
    let best = Infinity;
    for (let r = 0; r < 20; r++) {
      wasm.beginScope();
      const t0 = performance.now();
      wasm.conv2dFused(x, w, bias, g, ep);
      best = Math.min(best, performance.now() - t0);
      wasm.endScope();
    }
    const macs = g.n * g.cOut * g.outH * g.outW * g.cIn * g.kh * g.kw;
    console.log(`c${g.cIn}->${g.cOut} ${JSON.stringify(ep)}: ${best.toFixed(3)} ms, ${(2 * macs / best / 1e6).toFixed(1)} GFLOPS`);
  }
  wasm.endScope();
}
process.exit(0);
