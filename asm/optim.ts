// Optimizer updates: one pass over a parameter, its gradient and its state buffers, in f32 (PyTorch's
// arithmetic). Every element is computed on its own by the same formula, so threads split element ranges
// (aligned to 4 floats) and any split gives identical bits; the scalar tail uses the same f32 operations as
// the SIMD lanes.

import { addr, part, part4 } from './common';

// SGD (torch.optim.SGD's order):
//   d = sign*g + weightDecay*p
//   buf = first ? d : momentum*buf + (1 - dampening)*d          (when momentum != 0; buf may be 0 otherwise)
//   p = p - lr * (momentum == 0 ? d : nesterov ? d + momentum*buf : buf)
// sign is -1 for maximize. oneMinusDampening is passed so the host rounds it once, like the scalar path.
export function sgdStep(param: usize, grad: usize, buf: usize, len: i32, lr: f32, momentum: f32, oneMinusDampening: f32,
  nesterov: i32, weightDecay: f32, sign: f32, first: i32, tid: i32, nt: i32): void {
  const i0 = part4(len, tid, nt), i1 = part4(len, tid + 1, nt);
  const vLr = f32x4.splat(lr), vMom = f32x4.splat(momentum), vDamp = f32x4.splat(oneMinusDampening);
  const vWd = f32x4.splat(weightDecay), vSign = f32x4.splat(sign);
  let i = i0;
  if (momentum == 0) {
    for (; i + 4 <= i1; i += 4) {
      const w = v128.load(addr(param, i));
      const d = f32x4.add(f32x4.mul(vSign, v128.load(addr(grad, i))), f32x4.mul(vWd, w));
      v128.store(addr(param, i), f32x4.sub(w, f32x4.mul(vLr, d)));
    }
    for (; i < i1; i++) {
      const w = load<f32>(addr(param, i));
      const d = sign * load<f32>(addr(grad, i)) + weightDecay * w;
      store<f32>(addr(param, i), w - lr * d);
    }
    return;
  }
  for (; i + 4 <= i1; i += 4) {
    const w = v128.load(addr(param, i));
    const d = f32x4.add(f32x4.mul(vSign, v128.load(addr(grad, i))), f32x4.mul(vWd, w));
    const b = first ? d : f32x4.add(f32x4.mul(vMom, v128.load(addr(buf, i))), f32x4.mul(vDamp, d));
    v128.store(addr(buf, i), b);
    const step = nesterov ? f32x4.add(d, f32x4.mul(vMom, b)) : b;
    v128.store(addr(param, i), f32x4.sub(w, f32x4.mul(vLr, step)));
  }
  for (; i < i1; i++) {
    const w = load<f32>(addr(param, i));
    const d = sign * load<f32>(addr(grad, i)) + weightDecay * w;
    const b = first ? d : momentum * load<f32>(addr(buf, i)) + oneMinusDampening * d;
    store<f32>(addr(buf, i), b);
    const step = nesterov ? d + momentum * b : b;
    store<f32>(addr(param, i), w - lr * step);
  }
}

// Adam / AdamW (torch.optim.Adam's order; AdamW shrinks p first and has l2 = 0):
//   p' = p*shrink; g = sign*grad + l2*p'
//   m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g*g; vMax = max(vMax, v) with amsgrad (vMax != 0)
//   p = p' - stepSize*m / (sqrt(amsgrad ? vMax : v) / bc2Sqrt + eps)
// The max keeps vMax unless v > vMax (a NaN v leaves it), like the scalar `if (v > vMax) vMax = v`.
export function adamStep(param: usize, grad: usize, m: usize, v: usize, vMax: usize, len: i32,
  beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, stepSize: f32, bc2Sqrt: f32, eps: f32,
  l2: f32, shrink: f32, sign: f32, tid: i32, nt: i32): void {
  const i0 = part4(len, tid, nt), i1 = part4(len, tid + 1, nt);
  const vB1 = f32x4.splat(beta1), vOB1 = f32x4.splat(oneMinusBeta1), vB2 = f32x4.splat(beta2), vOB2 = f32x4.splat(oneMinusBeta2);
  const vStep = f32x4.splat(stepSize), vBc2 = f32x4.splat(bc2Sqrt), vEps = f32x4.splat(eps);
  const vL2 = f32x4.splat(l2), vShrink = f32x4.splat(shrink), vSign = f32x4.splat(sign);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const w = f32x4.mul(v128.load(addr(param, i)), vShrink);
    const g = f32x4.add(f32x4.mul(vSign, v128.load(addr(grad, i))), f32x4.mul(vL2, w));
    const mi = f32x4.add(f32x4.mul(vB1, v128.load(addr(m, i))), f32x4.mul(vOB1, g));
    const vi = f32x4.add(f32x4.mul(vB2, v128.load(addr(v, i))), f32x4.mul(f32x4.mul(vOB2, g), g));
    v128.store(addr(m, i), mi);
    v128.store(addr(v, i), vi);
    let second = vi;
    if (vMax != 0) {
      const old = v128.load(addr(vMax, i));
      second = v128.bitselect(vi, old, f32x4.gt(vi, old));
      v128.store(addr(vMax, i), second);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(second), vBc2), vEps);
    v128.store(addr(param, i), f32x4.sub(w, f32x4.div(f32x4.mul(vStep, mi), denom)));
  }
  for (; i < i1; i++) {
    const w = load<f32>(addr(param, i)) * shrink;
    const g = sign * load<f32>(addr(grad, i)) + l2 * w;
    const mi = beta1 * load<f32>(addr(m, i)) + oneMinusBeta1 * g;
    const vi = beta2 * load<f32>(addr(v, i)) + oneMinusBeta2 * g * g;
    store<f32>(addr(m, i), mi);
    store<f32>(addr(v, i), vi);
    let second = vi;
    if (vMax != 0) {
      const old = load<f32>(addr(vMax, i));
      second = vi > old ? vi : old;
      store<f32>(addr(vMax, i), second);
    }
    store<f32>(addr(param, i), w - stepSize * mi / (Mathf.sqrt(second) / bc2Sqrt + eps));
  }
}
