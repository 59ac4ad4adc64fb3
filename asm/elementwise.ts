// Elementwise unary/binary ops, reductions and log-softmax. Threads split output ranges; every output element
// is computed by exactly one thread with the same arithmetic, so 1 and N threads give identical bits.
// Transcendentals are computed in f64 and rounded once, like the reference backend.

import { addr, part, part4 } from './common';

// Unary op codes: the op's index in UNARY_OPS (src/backend/backend.ts), which the host passes; test/backend/wasm-kernels.test.ts
// runs every op of that list here against the reference backend.
const SQRT_HALF: f64 = 0.7071067811865476;

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc), the same formula as the reference backend. */
function erf(x: f64): f64 {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

@inline function unaryScalar(op: i32, v: f64): f64 {
  switch (op) {
    case 0: return -v;
    case 1: return Math.exp(v);
    case 2: return Math.log(v);
    case 3: return Math.sqrt(v);
    case 4: return Math.abs(v);
    case 5: return v > 0 ? 1 : v < 0 ? -1 : 0;
    case 6: return v <= 0 ? 0 : v; // NaN stays NaN, as torch.relu
    case 7: return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    case 8: return Math.tanh(v);
    case 9: return 0.5 * v * (1 + erf(v * SQRT_HALF));
    case 10: return 1 / v;
    default: return v * v;
  }
}

// x and out are (len); out[i] = f(x[i]).
export function unary(op: i32, x: usize, out: usize, len: i32, tid: i32, nt: i32): void {
  const i0 = part4(len, tid, nt), i1 = part4(len, tid + 1, nt);
  let i = i0;
  const zero = f32x4.splat(0), one = f32x4.splat(1), minusOne = f32x4.splat(-1);
  if (op == 0 || op == 3 || op == 4 || op == 5 || op == 6 || op == 11) {
    for (; i + 4 <= i1; i += 4) {
      const v = v128.load(addr(x, i));
      let r: v128;
      if (op == 0) r = f32x4.neg(v);
      else if (op == 3) r = f32x4.sqrt(v);
      else if (op == 4) r = f32x4.abs(v);
      else if (op == 5) r = v128.or(v128.and(f32x4.gt(v, zero), one), v128.and(f32x4.lt(v, zero), minusOne));
      else if (op == 6) r = v128.andnot(v, f32x4.le(v, zero)); // NaN stays NaN
      else r = f32x4.mul(v, v);
      v128.store(addr(out, i), r);
    }
  }
  for (; i < i1; i++) store<f32>(addr(out, i), <f32>unaryScalar(op, <f64>load<f32>(addr(x, i))));
}

// Binary op codes: the index in BINARY_OPS (src/backend/backend.ts), checked the same way.
@inline function binaryScalar(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return <f32>Math.pow(<f64>a, <f64>b);
    case 5: return a >= b || a != a ? a : b;
    case 6: return a <= b || a != a ? a : b;
    case 7: return a > b ? 1 : 0;
    case 8: return a >= b ? 1 : 0;
    case 9: return a < b ? 1 : 0;
    case 10: return a <= b ? 1 : 0;
    default: return a == b ? 1 : 0;
  }
}

@inline function binary4(op: i32, a: v128, b: v128): v128 {
  const one = f32x4.splat(1);
  switch (op) {
    case 0: return f32x4.add(a, b);
    case 1: return f32x4.sub(a, b);
    case 2: return f32x4.mul(a, b);
    case 3: return f32x4.div(a, b);
    case 5: return v128.bitselect(a, b, v128.or(f32x4.ge(a, b), f32x4.ne(a, a)));
    case 6: return v128.bitselect(a, b, v128.or(f32x4.le(a, b), f32x4.ne(a, a)));
    case 7: return v128.and(f32x4.gt(a, b), one);
    case 8: return v128.and(f32x4.ge(a, b), one);
    case 9: return v128.and(f32x4.lt(a, b), one);
    case 10: return v128.and(f32x4.le(a, b), one);
    default: return v128.and(f32x4.eq(a, b), one);
  }
}

// One output row of `len` floats; a and b advance by sa / sb floats (0 = broadcast, 1 = contiguous).
function binaryRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, len: i32): void {
  let i = 0;
  if (op != 4) {
    if (sa == 1 && sb == 1) {
      for (; i + 4 <= len; i += 4) v128.store(addr(out, i), binary4(op, v128.load(addr(a, i)), v128.load(addr(b, i))));
    } else if (sa == 1 && sb == 0) {
      const vb = v128.load32_splat(b);
      for (; i + 4 <= len; i += 4) v128.store(addr(out, i), binary4(op, v128.load(addr(a, i)), vb));
    } else if (sa == 0 && sb == 1) {
      const va = v128.load32_splat(a);
      for (; i + 4 <= len; i += 4) v128.store(addr(out, i), binary4(op, va, v128.load(addr(b, i))));
    }
  }
  for (; i < len; i++) store<f32>(addr(out, i), binaryScalar(op, load<f32>(addr(a, i * sa)), load<f32>(addr(b, i * sb))));
}

// out is (d0,d1,d2,d3) = a (op) b, where a and b are read with strides sa*, sb* (0 on broadcast dimensions).
// Threads split the d0*d1*d2 rows.
export function binary(op: i32, a: usize, b: usize, out: usize, d0: i32, d1: i32, d2: i32, d3: i32,
  sa0: i32, sa1: i32, sa2: i32, sa3: i32, sb0: i32, sb1: i32, sb2: i32, sb3: i32, tid: i32, nt: i32): void {
  const rows = d0 * d1 * d2;
  for (let r = part(rows, tid, nt); r < part(rows, tid + 1, nt); r++) {
    const i2 = r % d2, i1 = (r / d2) % d1, i0 = r / (d1 * d2);
    const oa = i0 * sa0 + i1 * sa1 + i2 * sa2, ob = i0 * sb0 + i1 * sb1 + i2 * sb2;
    binaryRow(op, addr(a, oa), sa3, addr(b, ob), sb3, addr(out, r * d3), d3);
  }
}

// Combine 16 partial results (4 vectors) into one, always in the same tree order.
@inline function combine4(op: i32, a: v128, b: v128): v128 {
  if (op == 0) return f32x4.add(a, b);
  if (op == 1) return v128.bitselect(b, a, v128.or(f32x4.gt(b, a), f32x4.ne(b, b)));
  return v128.bitselect(b, a, v128.or(f32x4.lt(b, a), f32x4.ne(b, b)));
}
@inline function combineScalar(op: i32, a: f32, b: f32): f32 {
  if (op == 0) return a + b;
  if (op == 1) return b > a || b != b ? b : a;
  return b < a || b != b ? b : a;
}
function combine16(op: i32, v0: v128, v1: v128, v2: v128, v3: v128): f32 {
  const v = combine4(op, combine4(op, v0, v1), combine4(op, v2, v3));
  return combineScalar(op, combineScalar(op, f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    combineScalar(op, f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// x is (k1, r1, k2, r2), out is (k1, k2): out[i,j] = reduce over (r1, r2) of x[i, :, j, :]. Runs of r2 >= 16
// contiguous values are reduced in 16 lanes combined in a fixed tree (the same for every thread split);
// otherwise in flat order.
// op: 0 sum, 1 max, 2 min (NaN wins, like the reference). Threads split k1 (or k2 when k1 < nt).
export function reduce(op: i32, x: usize, out: usize, k1: i32, r1: i32, k2: i32, r2: i32, tid: i32, nt: i32): void {
  const splitOuter = k1 >= nt;
  const a0 = splitOuter ? part(k1, tid, nt) : 0, a1 = splitOuter ? part(k1, tid + 1, nt) : k1;
  const j0 = splitOuter ? 0 : part4(k2, tid, nt), j1 = splitOuter ? k2 : part4(k2, tid + 1, nt);
  const init: f32 = op == 0 ? 0 : op == 1 ? -Infinity : Infinity;
  for (let i = a0; i < a1; i++) {
    let j = j0;
    if (r2 == 1) {
      // Vertical: four neighbouring outputs at once, each still summed in flat order.
      for (; j + 4 <= j1; j += 4) {
        let acc = f32x4.splat(init);
        for (let p = 0; p < r1; p++) {
          const v = v128.load(addr(x, (i * r1 + p) * k2 + j));
          if (op == 0) acc = f32x4.add(acc, v);
          else if (op == 1) acc = v128.bitselect(v, acc, v128.or(f32x4.gt(v, acc), f32x4.ne(v, v)));
          else acc = v128.bitselect(v, acc, v128.or(f32x4.lt(v, acc), f32x4.ne(v, v)));
        }
        v128.store(addr(out, i * k2 + j), acc);
      }
    }
    for (; j < j1; j++) {
      let acc = init;
      for (let p = 0; p < r1; p++) {
        const row = addr(x, ((i * r1 + p) * k2 + j) * r2);
        if (r2 >= 16) {
          // Contiguous run: 16 lanes of partial results, combined in a fixed order, then the tail.
          const start = f32x4.splat(init);
          let v0 = start, v1 = start, v2 = start, v3 = start;
          let q = 0;
          for (; q + 16 <= r2; q += 16) {
            const a0 = v128.load(addr(row, q)), a1 = v128.load(addr(row, q + 4));
            const a2 = v128.load(addr(row, q + 8)), a3 = v128.load(addr(row, q + 12));
            if (op == 0) {
              v0 = f32x4.add(v0, a0); v1 = f32x4.add(v1, a1); v2 = f32x4.add(v2, a2); v3 = f32x4.add(v3, a3);
            } else if (op == 1) {
              v0 = v128.bitselect(a0, v0, v128.or(f32x4.gt(a0, v0), f32x4.ne(a0, a0)));
              v1 = v128.bitselect(a1, v1, v128.or(f32x4.gt(a1, v1), f32x4.ne(a1, a1)));
              v2 = v128.bitselect(a2, v2, v128.or(f32x4.gt(a2, v2), f32x4.ne(a2, a2)));
              v3 = v128.bitselect(a3, v3, v128.or(f32x4.gt(a3, v3), f32x4.ne(a3, a3)));
            } else {
              v0 = v128.bitselect(a0, v0, v128.or(f32x4.lt(a0, v0), f32x4.ne(a0, a0)));
              v1 = v128.bitselect(a1, v1, v128.or(f32x4.lt(a1, v1), f32x4.ne(a1, a1)));
              v2 = v128.bitselect(a2, v2, v128.or(f32x4.lt(a2, v2), f32x4.ne(a2, a2)));
              v3 = v128.bitselect(a3, v3, v128.or(f32x4.lt(a3, v3), f32x4.ne(a3, a3)));
            }
          }
          let part = combine16(op, v0, v1, v2, v3);
          for (; q < r2; q++) {
            const v = load<f32>(addr(row, q));
            if (op == 0) part += v;
            else if (op == 1) { if (v > part || v != v) part = v; }
            else if (v < part || v != v) part = v;
          }
          if (op == 0) acc += part;
          else if (op == 1) { if (part > acc || part != part) acc = part; }
          else if (part < acc || part != part) acc = part;
          continue;
        }
        for (let q = 0; q < r2; q++) {
          const v = load<f32>(addr(row, q));
          if (op == 0) acc += v;
          else if (op == 1) { if (v > acc || v != v) acc = v; }
          else if (v < acc || v != v) acc = v;
        }
      }
      store<f32>(addr(out, i * k2 + j), acc);
    }
  }
}

// x is (rows, cols); out[r,:] = x[r,:] - log(sum(exp(x[r,:] - max))) - max, in f64 like the reference.
export function logSoftmax(x: usize, rows: i32, cols: i32, out: usize, tid: i32, nt: i32): void {
  for (let r = part(rows, tid, nt); r < part(rows, tid + 1, nt); r++) {
    const xr = addr(x, r * cols), orow = addr(out, r * cols);
    let m: f64 = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, <f64>load<f32>(addr(xr, j)));
    let s: f64 = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(<f64>load<f32>(addr(xr, j)) - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < cols; j++) store<f32>(addr(orow, j), <f32>(<f64>load<f32>(addr(xr, j)) - lse));
  }
}

/**
 * Whether any of x[0..len) is NaN or infinite: v - v is 0 for every finite v and NaN otherwise, and a NaN in the
 * running sum stays. Winograd's transforms spread a non-finite input over whole tiles (inf - inf = NaN), so the
 * host recomputes a convolution whose Winograd output holds one by the direct path (PyTorch's NaN pattern).
 */
export function anyNonFinite(x: usize, len: i32): i32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    acc = f32x4.add(acc, f32x4.sub(v, v));
  }
  let tail: f32 = 0;
  for (; i < len; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    tail += v - v;
  }
  const s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) + tail;
  return s != s ? 1 : 0;
}
