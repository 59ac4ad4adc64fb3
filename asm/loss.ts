// Fused softmax cross-entropy over rows of logits with integer class targets, in f64 per element like the
// reference backend (and the logSoftmax kernel). Threads split rows; each row is computed by one thread in a
// fixed order, so any split gives identical bits.

import { addr, part } from './common';

// x is (rows, cols), target (rows) i32 (< 0: an ignored row, loss 0 and gradient 0), weight (cols) or 0 for none.
// For each row r with t = target[r]:
//   lse = max + log(sum(exp(x[r,:] - max))), logp[j] = f32(x[r,j] - lse) (as logSoftmax stores it)
//   loss[r] = -(1 - eps) * w[t] * logp[t] - eps/cols * sum_j w[j] * logp[j]
// lse is written as two floats, lse[2r] + lse[2r+1] (hi and the rest), for the backward's precision.
export function softmaxCrossEntropy(x: usize, rows: i32, cols: i32, target: usize, weight: usize, eps: f64,
  loss: usize, lse: usize, tid: i32, nt: i32): void {
  for (let r = part(rows, tid, nt); r < part(rows, tid + 1, nt); r++) {
    const xr = addr(x, r * cols);
    let m: f64 = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, <f64>load<f32>(addr(xr, j)));
    let s: f64 = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(<f64>load<f32>(addr(xr, j)) - m);
    const l = m + Math.log(s);
    const hi = <f32>l;
    store<f32>(addr(lse, 2 * r), hi);
    store<f32>(addr(lse, 2 * r + 1), <f32>(l - <f64>hi));
    const t = load<i32>(addr(target, r));
    if (t < 0) { // an ignored row
      store<f32>(addr(loss, r), 0);
      continue;
    }
    const wt: f64 = weight != 0 ? <f64>load<f32>(addr(weight, t)) : 1;
    let value = -wt * <f64><f32>(<f64>load<f32>(addr(xr, t)) - l);
    if (eps != 0) {
      let smooth: f64 = 0;
      for (let j = 0; j < cols; j++) {
        const wj: f64 = weight != 0 ? <f64>load<f32>(addr(weight, j)) : 1;
        smooth -= wj * <f64><f32>(<f64>load<f32>(addr(xr, j)) - l);
      }
      value = (1 - eps) * value + eps / cols * smooth;
    }
    store<f32>(addr(loss, r), <f32>value);
  }
}

// The gradient of the rows' losses, each scaled by rowScale[r] (the reduction's factor times the incoming
// gradient): gx[r,j] = rowScale[r] * (softmax[r,j] * a - (1 - eps) * w[t] * [j == t] - eps/cols * w[j]),
// a = (1 - eps) * w[t] + eps/cols * weightSum, softmax[r,j] = exp(logp[j]) with the forward's logp and lse.
export function softmaxCrossEntropyBackward(x: usize, lse: usize, rows: i32, cols: i32, target: usize, weight: usize,
  eps: f64, weightSum: f64, rowScale: usize, gx: usize, tid: i32, nt: i32): void {
  const spread = eps / cols;
  for (let r = part(rows, tid, nt); r < part(rows, tid + 1, nt); r++) {
    const xr = addr(x, r * cols), gr = addr(gx, r * cols);
    const l = <f64>load<f32>(addr(lse, 2 * r)) + <f64>load<f32>(addr(lse, 2 * r + 1));
    const scale = <f64>load<f32>(addr(rowScale, r));
    const t = load<i32>(addr(target, r));
    if (t < 0) { // an ignored row
      memory.fill(gr, 0, <usize>cols << 2);
      continue;
    }
    const wt: f64 = weight != 0 ? <f64>load<f32>(addr(weight, t)) : 1;
    const hit = (1 - eps) * wt;
    const a = hit + spread * weightSum;
    for (let j = 0; j < cols; j++) {
      const wj: f64 = weight != 0 ? <f64>load<f32>(addr(weight, j)) : 1;
      let g = Math.exp(<f64><f32>(<f64>load<f32>(addr(xr, j)) - l)) * a - spread * wj;
      if (j == t) g -= hit;
      store<f32>(addr(gr, j), <f32>(scale * g));
    }
  }
}
