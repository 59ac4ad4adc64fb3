// Fused softmax cross-entropy over rows of logits with integer class targets, in f64 per element like the
// reference backend (and the logSoftmax kernel). Threads split rows; each row is computed by one thread in a
// fixed order, so any split gives identical bits.

@inline function addr(base: usize, floats: i32): usize { return base + (<usize>floats << 2); }
@inline function part(total: i32, tid: i32, nt: i32): i32 { return <i32>((<i64>total * tid) / nt); }

// x is (rows, cols), target (rows) i32, weight (cols) or 0 for none. For each row r with t = target[r]:
//   lse[r] = max + log(sum(exp(x[r,:] - max)))
//   loss[r] = (1 - eps) * w[t] * (lse - x[r,t]) + eps/cols * sum_j w[j] * (lse - x[r,j])
export function softmaxCrossEntropy(x: usize, rows: i32, cols: i32, target: usize, weight: usize, eps: f64,
  loss: usize, lse: usize, tid: i32, nt: i32): void {
  for (let r = part(rows, tid, nt); r < part(rows, tid + 1, nt); r++) {
    const xr = addr(x, r * cols);
    let m: f64 = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, <f64>load<f32>(addr(xr, j)));
    let s: f64 = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(<f64>load<f32>(addr(xr, j)) - m);
    const l = m + Math.log(s);
    const t = load<i32>(addr(target, r));
    const wt: f64 = weight != 0 ? <f64>load<f32>(addr(weight, t)) : 1;
    let value = wt * (l - <f64>load<f32>(addr(xr, t)));
    if (eps != 0) {
      let smooth: f64 = 0;
      for (let j = 0; j < cols; j++) {
        const wj: f64 = weight != 0 ? <f64>load<f32>(addr(weight, j)) : 1;
        smooth += wj * (l - <f64>load<f32>(addr(xr, j)));
      }
      value = (1 - eps) * value + eps / cols * smooth;
    }
    store<f32>(addr(loss, r), <f32>value);
    store<f32>(addr(lse, r), <f32>l);
  }
}

// The gradient of the rows' losses, each scaled by rowScale[r] (the reduction's factor times the incoming
// gradient): gx[r,j] = rowScale[r] * (softmax[r,j] * a - (1 - eps) * w[t] * [j == t] - eps/cols * w[j]),
// a = (1 - eps) * w[t] + eps/cols * weightSum, softmax[r,j] = exp(x[r,j] - lse[r]).
export function softmaxCrossEntropyBackward(x: usize, lse: usize, rows: i32, cols: i32, target: usize, weight: usize,
  eps: f64, weightSum: f64, rowScale: usize, gx: usize, tid: i32, nt: i32): void {
  const spread = eps / cols;
  for (let r = part(rows, tid, nt); r < part(rows, tid + 1, nt); r++) {
    const xr = addr(x, r * cols), gr = addr(gx, r * cols);
    const l = <f64>load<f32>(addr(lse, r));
    const scale = <f64>load<f32>(addr(rowScale, r));
    const t = load<i32>(addr(target, r));
    const wt: f64 = weight != 0 ? <f64>load<f32>(addr(weight, t)) : 1;
    const hit = (1 - eps) * wt;
    const a = hit + spread * weightSum;
    for (let j = 0; j < cols; j++) {
      const wj: f64 = weight != 0 ? <f64>load<f32>(addr(weight, j)) : 1;
      let g = Math.exp(<f64>load<f32>(addr(xr, j)) - l) * a - spread * wj;
      if (j == t) g -= hit;
      store<f32>(addr(gr, j), <f32>(scale * g));
    }
  }
}
