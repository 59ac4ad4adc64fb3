// The Node-API glue of the native backend: every kernel takes the caller's Float32Array / Int32Array storage in
// place (no copy; napi-call.h reads the arguments) and the geometry as numbers or a small Int32Array. Kernels trust
// their arguments; this file checks what would make them read or write outside an array (wrong array types, arrays
// shorter than the geometry needs), so a caller's mistake is a TypeError / RangeError naming the kernel and the
// argument instead of a crash.
// src/backend/native/index.ts is the TypeScript side.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include "dispatch.h"
#include "napi-call.h"
#include "parallel.h"
#include "table.h"

namespace {

using ck::ArgError;
using ck::boolValue;
using ck::Call;
using ck::numberValue;
using ck::stringValue;
using ck::undefinedValue;

// Bumped whenever an export's signature changes, so a stale build is refused by the TypeScript side.
constexpr int kAddonVersion = 5;

const ck::KernelTable* table = nullptr;

const ck::KernelTable& kernels(Call& c) {
  if (!table) c.fail(false, "no ISA level selected");
  return *table;
}

int64_t convIn(const ck::ConvGeom& g) { return static_cast<int64_t>(g.n) * g.cIn * g.h * g.w; }
int64_t convOut(const ck::ConvGeom& g) { return static_cast<int64_t>(g.n) * g.cOut * g.outH * g.outW; }
int64_t convWeight(const ck::ConvGeom& g) { return static_cast<int64_t>(g.cOut) * (g.cIn / g.groups) * g.kh * g.kw; }
int64_t lcWeight(const ck::ConvGeom& g) { return static_cast<int64_t>(g.outH) * g.outW * g.cOut * g.cIn * g.kh * g.kw; }
int64_t poolIn(const ck::PoolGeom& g) { return static_cast<int64_t>(g.n) * g.c * g.h * g.w; }
int64_t poolOut(const ck::PoolGeom& g) { return static_cast<int64_t>(g.n) * g.c * g.outH * g.outW; }
int activationCode(Call& c, size_t i) {
  const int64_t a = c.integer(i, "activation");
  if (a > 3) c.fail(true, "activation code must be 0..3");
  return static_cast<int>(a);
}

// ---- the exports, one function per Backend kernel (src/backend/backend.ts has their contracts)

napi_value Gemm(Call& c) {
  const bool transA = c.boolean(0, "transA"), transB = c.boolean(1, "transB");
  const int64_t m = c.integer(2, "m"), n = c.integer(3, "n"), k = c.integer(4, "k");
  const int64_t aOff = c.integer(6, "aOffset"), bOff = c.integer(8, "bOffset"), cOff = c.integer(10, "cOffset");
  const float* a = c.f32(5, "a", aOff + m * k);
  const float* b = c.f32(7, "b", bOff + k * n);
  float* out = c.f32(9, "c", cOff + m * n);
  const bool accumulate = c.boolean(11, "accumulate");
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) c.fail(true, "m, n and k must be below 2^31");
  if (m > 0 && n > 0) {
    kernels(c).gemm(transA, transB, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a + aOff, b + bOff,
                    out + cOff, accumulate);
  }
  return undefinedValue(c.env());
}

int geometryInt(Call& c, int64_t v) {
  if (v > INT32_MAX) c.fail(true, "m, n and k must be below 2^31");
  return static_cast<int>(v);
}
// A packed matrix starts at the first 64-byte boundary inside its array (the GEMM reads its panels with aligned
// vector loads), so the array holds up to 15 floats more than the panels; an array never moves, so packing and
// every product find the same start.
constexpr int64_t kPackSlack = 15;
float* packedStart(float* p) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(p);
  return p + ((64 - address % 64) % 64) / 4;
}
napi_value GemmPackedBSize(Call& c) {
  const int n = geometryInt(c, c.integer(0, "n")), k = geometryInt(c, c.integer(1, "k"));
  return numberValue(c.env(), static_cast<double>(kernels(c).gemmPackedBSize(n, k) + kPackSlack));
}
napi_value GemmPackB(Call& c) {
  const bool transB = c.boolean(0, "transB");
  const int n = geometryInt(c, c.integer(1, "n")), k = geometryInt(c, c.integer(2, "k"));
  const int64_t bOff = c.integer(4, "bOffset");
  const float* b = c.f32(3, "b", bOff + static_cast<int64_t>(k) * n);
  float* out = c.f32(5, "packed", kernels(c).gemmPackedBSize(n, k) + kPackSlack);
  kernels(c).gemmPackB(transB, n, k, b + bOff, packedStart(out));
  return undefinedValue(c.env());
}
napi_value GemmPacked(Call& c) {
  const int m = geometryInt(c, c.integer(0, "m")), n = geometryInt(c, c.integer(1, "n")), k = geometryInt(c, c.integer(2, "k"));
  const int64_t aOff = c.integer(4, "aOffset"), cOff = c.integer(7, "cOffset");
  const float* a = c.f32(3, "a", aOff + static_cast<int64_t>(m) * k);
  const float* packed = packedStart(c.f32(5, "packed", kernels(c).gemmPackedBSize(n, k) + kPackSlack));
  float* out = c.f32(6, "c", cOff + static_cast<int64_t>(m) * n);
  const float* bias = c.f32(8, "bias", n, true);
  const int act = activationCode(c, 9);
  kernels(c).gemmPacked(m, n, k, a + aOff, packed, out + cOff, bias, static_cast<ck::Activation>(act));
  return undefinedValue(c.env());
}

napi_value Conv2d(Call& c) {
  const ck::ConvGeom g = c.conv(3);
  kernels(c).conv2d(c.f32(0, "x", convIn(g)), c.f32(1, "w", convWeight(g)), c.f32(2, "bias", g.cOut, true), g,
                    c.f32(4, "out", convOut(g)));
  return undefinedValue(c.env());
}
napi_value Conv2dFusedSupported(Call& c) {
  const ck::ConvGeom g = c.conv(0);
  return boolValue(c.env(), kernels(c).conv2dFusedSupported(g, static_cast<ck::Activation>(activationCode(c, 1)), c.boolean(2, "maxPool2x2")));
}
napi_value Conv2dFused(Call& c) {
  const ck::ConvGeom g = c.conv(3);
  const int act = activationCode(c, 4);
  const bool pool = c.boolean(5, "maxPool2x2");
  const int64_t outLen = pool ? static_cast<int64_t>(g.n) * g.cOut * (g.outH / 2) * (g.outW / 2) : convOut(g);
  int32_t* argmax = c.i32(7, "argmax", outLen, true);
  if (argmax && !pool) c.fail(false, "argmax holds the winners of the 2x2 pooling: pass maxPool2x2 true, or argmax null");
  kernels(c).conv2dFused(c.f32(0, "x", convIn(g)), c.f32(1, "w", convWeight(g)), c.f32(2, "bias", g.cOut, true), g,
                         static_cast<ck::Activation>(act), pool, c.f32(6, "out", outLen), argmax);
  return undefinedValue(c.env());
}
napi_value Conv2dBackwardInput(Call& c) {
  const ck::ConvGeom g = c.conv(2);
  kernels(c).conv2dBackwardInput(c.f32(0, "gy", convOut(g)), c.f32(1, "w", convWeight(g)), g, c.f32(3, "gx", convIn(g)));
  return undefinedValue(c.env());
}
napi_value Conv2dBackwardWeight(Call& c) {
  const ck::ConvGeom g = c.conv(2);
  kernels(c).conv2dBackwardWeight(c.f32(0, "x", convIn(g)), c.f32(1, "gy", convOut(g)), g, c.f32(3, "gw", convWeight(g)));
  return undefinedValue(c.env());
}
napi_value LocallyConnected2d(Call& c) {
  const ck::ConvGeom g = c.conv(3);
  kernels(c).locallyConnected2d(c.f32(0, "x", convIn(g)), c.f32(1, "w", lcWeight(g)),
                                c.f32(2, "bias", static_cast<int64_t>(g.cOut) * g.outH * g.outW, true), g, c.f32(4, "out", convOut(g)));
  return undefinedValue(c.env());
}
napi_value LocallyConnected2dBackwardInput(Call& c) {
  const ck::ConvGeom g = c.conv(2);
  kernels(c).locallyConnected2dBackwardInput(c.f32(0, "gy", convOut(g)), c.f32(1, "w", lcWeight(g)), g, c.f32(3, "gx", convIn(g)));
  return undefinedValue(c.env());
}
napi_value LocallyConnected2dBackwardWeight(Call& c) {
  const ck::ConvGeom g = c.conv(2);
  kernels(c).locallyConnected2dBackwardWeight(c.f32(0, "x", convIn(g)), c.f32(1, "gy", convOut(g)), g, c.f32(3, "gw", lcWeight(g)));
  return undefinedValue(c.env());
}

napi_value MaxPool2d(Call& c) {
  const ck::PoolGeom g = c.pool(1);
  kernels(c).maxPool2d(c.f32(0, "x", poolIn(g)), g, c.f32(2, "out", poolOut(g)), c.i32(3, "argmax", poolOut(g), true));
  return undefinedValue(c.env());
}
napi_value MaxPool2dBackward(Call& c) {
  const ck::PoolGeom g = c.pool(2, false);
  const float* gy = c.f32(0, "gy", poolOut(g));
  const int32_t* argmax = c.i32(1, "argmax", poolOut(g));
  const int64_t planeSize = static_cast<int64_t>(g.h) * g.w;
  for (int64_t i = 0; i < poolOut(g); i++) {
    if (argmax[i] >= planeSize) c.fail(true, "argmax holds an index outside the plane");
  }
  kernels(c).maxPool2dBackward(gy, argmax, g, c.f32(3, "gx", poolIn(g)));
  return undefinedValue(c.env());
}
napi_value AvgPool2d(Call& c) {
  const ck::PoolGeom g = c.pool(1);
  kernels(c).avgPool2d(c.f32(0, "x", poolIn(g)), g, c.boolean(2, "countIncludePad"), c.number(3, "divisorOverride"),
                       c.f32(4, "out", poolOut(g)));
  return undefinedValue(c.env());
}
napi_value AvgPool2dBackward(Call& c) {
  const ck::PoolGeom g = c.pool(1);
  kernels(c).avgPool2dBackward(c.f32(0, "gy", poolOut(g)), g, c.boolean(2, "countIncludePad"), c.number(3, "divisorOverride"),
                               c.f32(4, "gx", poolIn(g)));
  return undefinedValue(c.env());
}

napi_value Unary(Call& c) {
  const int64_t op = c.integer(0, "op");
  if (op > 11) c.fail(true, "unknown unary op code");
  const int64_t n = c.lengthOf(1, "x");
  kernels(c).unary(static_cast<int>(op), c.f32(1, "x", n), c.f32(2, "out", n), n);
  return undefinedValue(c.env());
}

// plan: Int32Array [rank, dims..., strides of a..., strides of b...] (strides in floats, 0 on broadcast dims).
napi_value Binary(Call& c) {
  const int64_t op = c.integer(0, "op");
  if (op > 11) c.fail(true, "unknown binary op code");
  const int32_t* raw = c.i32(4, "plan", 1);
  ck::BroadcastPlan plan{};
  plan.rank = raw[0];
  if (plan.rank < 1 || plan.rank > ck::kMaxRank) c.fail(true, "the broadcast plan's rank must be 1..8");
  c.i32(4, "plan", 1 + 3 * plan.rank);
  int64_t n = 1, aEnd = 1, bEnd = 1;
  for (int k = 0; k < plan.rank; k++) {
    plan.dims[k] = raw[1 + k];
    plan.sa[k] = raw[1 + plan.rank + k];
    plan.sb[k] = raw[1 + 2 * plan.rank + k];
    if (plan.dims[k] < 1 || plan.sa[k] < 0 || plan.sb[k] < 0) c.fail(true, "invalid broadcast plan");
    n *= plan.dims[k];
    aEnd += (plan.dims[k] - 1) * plan.sa[k];
    bEnd += (plan.dims[k] - 1) * plan.sb[k];
  }
  kernels(c).binary(static_cast<int>(op), c.f32(1, "a", aEnd), c.f32(2, "b", bEnd), c.f32(3, "out", n), plan);
  return undefinedValue(c.env());
}

napi_value Reduce(Call& c) {
  const int64_t op = c.integer(0, "op");
  if (op > 2) c.fail(true, "unknown reduce op code");
  const int64_t k1 = c.integer(3, "k1", 1), r1 = c.integer(4, "r1", 1), k2 = c.integer(5, "k2", 1), r2 = c.integer(6, "r2", 1);
  kernels(c).reduce(static_cast<int>(op), c.f32(1, "x", k1 * r1 * k2 * r2), c.f32(2, "out", k1 * k2), k1, r1, k2, r2);
  return undefinedValue(c.env());
}
// shape and outStrides: Int32Arrays of x's rank (outStrides 0 on reduced axes).
napi_value ReduceStrided(Call& c) {
  const int64_t op = c.integer(0, "op");
  if (op > 2) c.fail(true, "unknown reduce op code");
  const int64_t rank = c.integer(5, "rank", 1);
  if (rank > ck::kMaxRank) c.fail(true, "rank must be at most 8");
  const int32_t* shape = c.i32(3, "shape", rank);
  const int32_t* strides = c.i32(4, "outStrides", rank);
  int64_t s[ck::kMaxRank], o[ck::kMaxRank], n = 1, outEnd = 1;
  for (int k = 0; k < rank; k++) {
    s[k] = shape[k];
    o[k] = strides[k];
    if (s[k] < 1 || o[k] < 0) c.fail(true, "invalid shape or strides");
    n *= s[k];
    outEnd += (s[k] - 1) * o[k];
  }
  const int64_t outLen = c.lengthOf(2, "out");
  if (outLen < outEnd) c.fail(true, "out is shorter than the reduced shape");
  kernels(c).reduceStrided(static_cast<int>(op), c.f32(1, "x", n), c.f32(2, "out", outLen), static_cast<int>(rank), s, o, outLen);
  return undefinedValue(c.env());
}

napi_value BiasActivation(Call& c) {
  const int64_t rows = c.integer(2, "rows"), cols = c.integer(3, "cols");
  kernels(c).biasActivation(c.f32(0, "out", rows * cols), c.f32(1, "bias", cols, true), rows, cols, activationCode(c, 4));
  return undefinedValue(c.env());
}
napi_value AddActivation(Call& c) {
  const int64_t n = c.lengthOf(2, "out");
  kernels(c).addActivation(c.f32(0, "a", n), c.f32(1, "b", n), c.f32(2, "out", n), n, activationCode(c, 3));
  return undefinedValue(c.env());
}
napi_value ActivationBackward(Call& c) {
  const int64_t n = c.lengthOf(2, "gx");
  kernels(c).activationBackward(c.f32(0, "y", n), c.f32(1, "gy", n), c.f32(2, "gx", n), n, activationCode(c, 3));
  return undefinedValue(c.env());
}
napi_value LogSoftmax(Call& c) {
  const int64_t rows = c.integer(1, "rows"), cols = c.integer(2, "cols");
  kernels(c).logSoftmax(c.f32(0, "x", rows * cols), rows, cols, c.f32(3, "out", rows * cols));
  return undefinedValue(c.env());
}

void checkTargets(Call& c, const int32_t* target, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    if (target[r] >= cols) c.fail(true, "target " + std::to_string(target[r]) + " is not below the class count " + std::to_string(cols));
  }
}
napi_value SoftmaxCrossEntropy(Call& c) {
  const int64_t rows = c.integer(1, "rows"), cols = c.integer(2, "cols");
  const int32_t* target = c.i32(3, "target", rows);
  checkTargets(c, target, rows, cols);
  kernels(c).softmaxCrossEntropy(c.f32(0, "x", rows * cols), rows, cols, target, c.f32(4, "weight", cols, true),
                                 c.number(5, "labelSmoothing"), c.f32(6, "loss", rows), c.f32(7, "lse", 2 * rows));
  return undefinedValue(c.env());
}
napi_value SoftmaxCrossEntropyBackward(Call& c) {
  const int64_t rows = c.integer(2, "rows"), cols = c.integer(3, "cols");
  const int32_t* target = c.i32(4, "target", rows);
  checkTargets(c, target, rows, cols);
  kernels(c).softmaxCrossEntropyBackward(c.f32(0, "x", rows * cols), c.f32(1, "lse", 2 * rows), rows, cols, target,
                                         c.f32(5, "weight", cols, true), c.number(6, "labelSmoothing"),
                                         c.f32(7, "rowScale", rows), c.f32(8, "gx", rows * cols));
  return undefinedValue(c.env());
}

// sgdStep(param, grad, buffer | null, lr, momentum, dampening, weightDecay, sign, nesterov, firstStep)
napi_value SgdStep(Call& c) {
  const int64_t n = c.lengthOf(0, "param");
  ck::SgdArgs h{c.number(3, "lr"), c.number(4, "momentum"), c.number(5, "dampening"), c.number(6, "weightDecay"),
                c.number(7, "sign"), c.boolean(8, "nesterov"), c.boolean(9, "firstStep"), false};
  float* buffer = c.f32(2, "momentumBuffer", n, true);
  h.useBuffer = buffer != nullptr && h.momentum != 0;
  kernels(c).sgdStep(c.f32(0, "param", n), c.f32(1, "grad", n), buffer, n, h);
  return undefinedValue(c.env());
}
// adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq | null, beta1, beta2, eps, stepSize, bc2Sqrt, l2, shrink, sign)
napi_value AdamStep(Call& c) {
  const int64_t n = c.lengthOf(0, "param");
  const ck::AdamArgs h{c.number(5, "beta1"), c.number(6, "beta2"), c.number(7, "eps"), c.number(8, "stepSize"),
                       c.number(9, "bc2Sqrt"), c.number(10, "l2"), c.number(11, "shrink"), c.number(12, "sign")};
  kernels(c).adamStep(c.f32(0, "param", n), c.f32(1, "grad", n), c.f32(2, "expAvg", n), c.f32(3, "expAvgSq", n),
                      c.f32(4, "maxExpAvgSq", n, true), n, h);
  return undefinedValue(c.env());
}

napi_value ChannelMoments(Call& c) {
  const int64_t n = c.integer(1, "n"), ch = c.integer(2, "c"), hw = c.integer(3, "hw");
  kernels(c).channelMoments(c.f32(0, "x", n * ch * hw), n, ch, hw, c.f32(4, "mean", ch), c.f32(5, "variance", ch));
  return undefinedValue(c.env());
}
napi_value BatchNormApply(Call& c) {
  const int64_t n = c.integer(1, "n"), ch = c.integer(2, "c"), hw = c.integer(3, "hw");
  kernels(c).batchNormApply(c.f32(0, "x", n * ch * hw), n, ch, hw, c.f32(4, "mean", ch), c.f32(5, "invStd", ch),
                            c.f32(6, "weight", ch, true), c.f32(7, "bias", ch, true), c.f32(8, "out", n * ch * hw));
  return undefinedValue(c.env());
}
napi_value BatchNormBackward(Call& c) {
  const int64_t n = c.integer(2, "n"), ch = c.integer(3, "c"), hw = c.integer(4, "hw");
  kernels(c).batchNormBackward(c.f32(0, "x", n * ch * hw), c.f32(1, "gy", n * ch * hw), n, ch, hw, c.f32(5, "mean", ch),
                               c.f32(6, "invStd", ch), c.f32(7, "weight", ch, true), c.boolean(8, "training"),
                               c.f32(9, "gx", n * ch * hw), c.f32(10, "gWeight", ch), c.f32(11, "gBias", ch));
  return undefinedValue(c.env());
}

// ---- pool, dispatch and measurement

napi_value SetThreads(Call& c) {
  const int64_t n = c.integer(0, "threads", 1);
  if (n > 256) c.fail(true, "at most 256 threads");
  ck::setPoolThreads(static_cast<int>(n), c.boolean(1, "adaptive"));
  return undefinedValue(c.env());
}
napi_value Threads(Call& c) { return numberValue(c.env(), ck::poolThreads()); }
napi_value AdaptiveThreads(Call& c) { return boolValue(c.env(), ck::poolAdaptive()); }
napi_value SoloJobs(Call& c) { return numberValue(c.env(), static_cast<double>(ck::poolSoloJobs())); }
napi_value SetParallelWork(Call& c) {
  ck::setParallelWorkNs(c.number(0, "nanoseconds"));
  return undefinedValue(c.env());
}

// [{ name, missing }] for every level of this build, best first.
napi_value IsaLevels(Call& c) {
  napi_value list;
  napi_create_array(c.env(), &list);
  uint32_t i = 0;
  for (const ck::IsaLevel& level : ck::isaLevels()) {
    napi_value entry;
    napi_create_object(c.env(), &entry);
    napi_set_named_property(c.env(), entry, "name", stringValue(c.env(), level.name));
    napi_set_named_property(c.env(), entry, "missing", stringValue(c.env(), level.missing));
    napi_set_element(c.env(), list, i++, entry);
  }
  return list;
}
// selectIsa(name): "" for the CPU's best level; returns the level now running. An unknown level, or one the CPU
// lacks, is an Error naming the missing CPU flags (the previous level stays).
napi_value SelectIsa(Call& c) {
  std::string error;
  const ck::KernelTable* chosen = ck::selectTable(c.string(0, "isa").c_str(), error);
  if (!chosen) c.failPlain(error);
  table = chosen;
  return stringValue(c.env(), table->isa);
}

napi_value FmaPeak(Call& c) {
  const int64_t iterations = c.integer(0, "iterations", 1), threads = c.integer(1, "threads", 1);
  const auto t0 = std::chrono::steady_clock::now();
  const double flops = kernels(c).fmaPeak(iterations, static_cast<int>(threads));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  napi_value result;
  napi_create_object(c.env(), &result);
  napi_set_named_property(c.env(), result, "flops", numberValue(c.env(), flops));
  napi_set_named_property(c.env(), result, "seconds", numberValue(c.env(), seconds));
  return result;
}
napi_value ConvAlgorithmName(Call& c) {
  const ck::ConvGeom g = c.conv(0);
  const int64_t pass = c.integer(1, "pass");
  if (pass > 2) c.fail(true, "pass must be 0 (forward), 1 (input gradient) or 2 (weight gradient)");
  return stringValue(c.env(), kernels(c).convAlgorithmName(g, static_cast<int>(pass)));
}

}  // namespace

// ---- registration

template <napi_value (*Fn)(Call&)>
napi_value exported(napi_env env, napi_callback_info info) {
  Call call(env, info);
  try {
    return Fn(call);
  } catch (const ArgError& e) {
    if (e.plain) napi_throw_error(env, nullptr, e.message.c_str());
    else if (e.range) napi_throw_range_error(env, nullptr, e.message.c_str());
    else napi_throw_type_error(env, nullptr, e.message.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("native backend: ") + e.what()).c_str());
  }
  return nullptr;
}

#define CK_EXPORT(name, fn) \
  {name, nullptr, exported<fn>, nullptr, nullptr, nullptr, napi_enumerable, const_cast<char*>(name)}

NAPI_MODULE_INIT() {
  static const napi_property_descriptor functions[] = {
      CK_EXPORT("gemm", Gemm),
      CK_EXPORT("gemmPackedBSize", GemmPackedBSize),
      CK_EXPORT("gemmPackB", GemmPackB),
      CK_EXPORT("gemmPacked", GemmPacked),
      CK_EXPORT("conv2d", Conv2d),
      CK_EXPORT("conv2dFusedSupported", Conv2dFusedSupported),
      CK_EXPORT("conv2dFused", Conv2dFused),
      CK_EXPORT("conv2dBackwardInput", Conv2dBackwardInput),
      CK_EXPORT("conv2dBackwardWeight", Conv2dBackwardWeight),
      CK_EXPORT("locallyConnected2d", LocallyConnected2d),
      CK_EXPORT("locallyConnected2dBackwardInput", LocallyConnected2dBackwardInput),
      CK_EXPORT("locallyConnected2dBackwardWeight", LocallyConnected2dBackwardWeight),
      CK_EXPORT("maxPool2d", MaxPool2d),
      CK_EXPORT("maxPool2dBackward", MaxPool2dBackward),
      CK_EXPORT("avgPool2d", AvgPool2d),
      CK_EXPORT("avgPool2dBackward", AvgPool2dBackward),
      CK_EXPORT("unary", Unary),
      CK_EXPORT("binary", Binary),
      CK_EXPORT("reduce", Reduce),
      CK_EXPORT("reduceStrided", ReduceStrided),
      CK_EXPORT("biasActivation", BiasActivation),
      CK_EXPORT("addActivation", AddActivation),
      CK_EXPORT("activationBackward", ActivationBackward),
      CK_EXPORT("logSoftmax", LogSoftmax),
      CK_EXPORT("softmaxCrossEntropy", SoftmaxCrossEntropy),
      CK_EXPORT("softmaxCrossEntropyBackward", SoftmaxCrossEntropyBackward),
      CK_EXPORT("sgdStep", SgdStep),
      CK_EXPORT("adamStep", AdamStep),
      CK_EXPORT("channelMoments", ChannelMoments),
      CK_EXPORT("batchNormApply", BatchNormApply),
      CK_EXPORT("batchNormBackward", BatchNormBackward),
      CK_EXPORT("setThreads", SetThreads),
      CK_EXPORT("threads", Threads),
      CK_EXPORT("adaptiveThreads", AdaptiveThreads),
      CK_EXPORT("soloJobs", SoloJobs),
      CK_EXPORT("setParallelWork", SetParallelWork),
      CK_EXPORT("isaLevels", IsaLevels),
      CK_EXPORT("selectIsa", SelectIsa),
      CK_EXPORT("fmaPeak", FmaPeak),
      CK_EXPORT("convAlgorithmName", ConvAlgorithmName),
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  napi_set_named_property(env, exports, "version", numberValue(env, kAddonVersion));
  return exports;
}
