// Fused epilogues of Linear / Conv2d: a bias add and an activation in one in-place pass over the output, and the
// activation's backward as one pass over (y, gy). Threads split element ranges (aligned to 4 floats); every element
// is computed by one thread with the same arithmetic as the separate passes it replaces (asm/elementwise.ts
// binary add, unary relu/sigmoid/tanh; the JS gradient formulas in src/autograd/gradients.ts), so the fused
// result has the same bits as the unfused one, and 1 and N threads agree.

import { addr, part, part4 } from './common';

// Activation codes: the index in ACTIVATIONS (src/backend/backend.ts), checked the same way.
@inline function activate(act: i32, v: f32): f32 {
  if (act == 1) return v <= 0 ? 0 : v; // NaN stays NaN, as torch.relu
  // The f64 formulas of the reference backend and of asm/elementwise.ts unary, rounded once.
  if (act == 2) {
    const x = <f64>v;
    return <f32>(x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
  }
  if (act == 3) return <f32>Math.tanh(<f64>v);
  return v;
}

// One run out[i] = act(out[i] + b[i]) for i in [0, len). Without a bias there is no add at all (adding 0 would turn
// -0 into +0, which a separate activation pass would not).
@inline function epilogueRun(act: i32, o: usize, b: usize, withBias: bool, len: i32): void {
  let i = 0;
  if (act <= 1) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= len; i += 4) {
      let v = v128.load(addr(o, i));
      if (withBias) v = f32x4.add(v, v128.load(addr(b, i)));
      if (act == 1) v = v128.andnot(v, f32x4.le(v, zero));
      v128.store(addr(o, i), v);
    }
  }
  for (; i < len; i++) {
    let v = load<f32>(addr(o, i));
    if (withBias) v += load<f32>(addr(b, i));
    store<f32>(addr(o, i), activate(act, v));
  }
}

// out is (rows, cols), updated in place: out[r, c] = act(out[r, c] + bias[c]); bias = 0 means no bias.
// Threads split the rows*cols elements; a range that starts or ends inside a row handles the partial row.
export function biasActivation(out: usize, bias: usize, rows: i32, cols: i32, act: i32, tid: i32, nt: i32): void {
  const total = rows * cols;
  const i0 = part4(total, tid, nt), i1 = part4(total, tid + 1, nt);
  if (bias == 0) {
    epilogueRun(act, addr(out, i0), 0, false, i1 - i0);
    return;
  }
  let i = i0;
  while (i < i1) {
    const c = i % cols;
    const len = min<i32>(cols - c, i1 - i);
    epilogueRun(act, addr(out, i), addr(bias, c), true, len);
    i += len;
  }
}

// y, gy and gx are (len); gx = gy * act'(x) written from the saved output y:
// relu y <= 0 ? 0 : gy (PyTorch's threshold_backward: a select, so a NaN output passes gy and an infinite gy is
// masked to 0), sigmoid gy * y * (1 - y), tanh gy * (1 - y * y) in f64 like the JS formulas; none copies gy.
// gx may alias gy.
export function activationBackward(y: usize, gy: usize, gx: usize, len: i32, act: i32, tid: i32, nt: i32): void {
  const i0 = part4(len, tid, nt), i1 = part4(len, tid + 1, nt);
  let i = i0;
  if (act <= 1) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= i1; i += 4) {
      const g = v128.load(addr(gy, i));
      v128.store(addr(gx, i), act == 1 ? v128.andnot(g, f32x4.le(v128.load(addr(y, i)), zero)) : g);
    }
  }
  for (; i < i1; i++) {
    const g = load<f32>(addr(gy, i)), v = load<f32>(addr(y, i));
    let r: f32;
    if (act == 1) r = v <= 0 ? 0 : g;
    else if (act == 2) r = <f32>(<f64>g * <f64>v * (1 - <f64>v));
    else if (act == 3) r = <f32>(<f64>g * (1 - <f64>v * <f64>v));
    else r = g;
    store<f32>(addr(gx, i), r);
  }
}
