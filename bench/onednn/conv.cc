// oneDNN (Debian's libdnnl, the library PyTorch's CPU convolutions use) on the convolution layers of
// bench/native-layers.ts: forward, input gradient and weight gradient, fp32, with the thread count oneDNN's
// OpenMP runtime is given (OMP_NUM_THREADS). Issue 16 asks whether oneDNN is worth an optional accelerator
// for the native backend; this measures its best case and the case convkit would have:
//   blocked:  oneDNN picks its own memory layouts (format_tag::any) and the reorders are left out of the
//             time, as if every tensor of a network stayed in oneDNN's layout;
//   nchw:     convkit's tensors are NCHW/OIHW, so each call also reorders its inputs in and its output out.
// Build and run through bench/onednn.mjs, which prints the CPU beside the figures. Measurement code only: not
// part of the addon.
#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Layer {
  const char* name;
  int n, cIn, size, cOut, k, stride, pad;
};

static double nowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static void fill(memory& m) {
  auto* p = static_cast<float*>(m.get_data_handle());
  const size_t count = m.get_desc().get_size() / sizeof(float);
  unsigned s = 12345;
  for (size_t i = 0; i < count; i++) {
    s = s * 1103515245u + 12345u;
    p[i] = static_cast<float>((s >> 9) & 0xffff) / 65536.0f - 0.5f;
  }
}

// Best of `repeats` timings of `run` in ms (after one warm-up call).
template <class F>
static double best(int repeats, F run) {
  run();
  double b = 1e30;
  for (int r = 0; r < repeats; r++) {
    const double t0 = nowMs();
    run();
    b = std::min(b, nowMs() - t0);
  }
  return b;
}

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 10;
  const std::vector<Layer> layers = {
      {"lenet5 conv1 1->6 28", 64, 1, 28, 6, 5, 1, 2},        {"lenet5 conv2 6->16 14", 64, 6, 14, 16, 5, 1, 0},
      {"vggsmall 1->32 28", 64, 1, 28, 32, 3, 1, 1},          {"vggsmall 32->32 28", 64, 32, 28, 32, 3, 1, 1},
      {"vggsmall 32->64 14", 64, 32, 14, 64, 3, 1, 1},        {"vggsmall 64->64 14", 64, 64, 14, 64, 3, 1, 1},
      {"resnet20 conv1 3->16 32", 128, 3, 32, 16, 3, 1, 1},   {"resnet20 16->16 32", 128, 16, 32, 16, 3, 1, 1},
      {"resnet20 16->32 s2 32", 128, 16, 32, 32, 3, 2, 1},    {"resnet20 32->32 16", 128, 32, 16, 32, 3, 1, 1},
      {"resnet20 32->64 s2 16", 128, 32, 16, 64, 3, 2, 1},    {"resnet20 64->64 8", 128, 64, 8, 64, 3, 1, 1},
  };
  engine eng(engine::kind::cpu, 0);
  stream st(eng);
  std::printf("layer\tpass\tblocked_ms\tnchw_ms\tgflops_blocked\tgflops_nchw\n");
  for (const Layer& L : layers) {
    const int out = (L.size + 2 * L.pad - L.k) / L.stride + 1;
    const memory::dims src{L.n, L.cIn, L.size, L.size}, wei{L.cOut, L.cIn, L.k, L.k}, bia{L.cOut},
        dst{L.n, L.cOut, out, out}, strides{L.stride, L.stride}, pads{L.pad, L.pad};
    const double flops = 2.0 * L.n * L.cOut * out * out * L.cIn * L.k * L.k;
    auto anyMd = [](const memory::dims& d) { return memory::desc(d, dt::f32, tag::any); };
    const memory::desc srcPlain(src, dt::f32, tag::nchw), weiPlain(wei, dt::f32, tag::oihw), biaPlain(bia, dt::f32, tag::x),
        dstPlain(dst, dt::f32, tag::nchw);
    memory srcP(srcPlain, eng), weiP(weiPlain, eng), biaP(biaPlain, eng), dstP(dstPlain, eng);
    fill(srcP), fill(weiP), fill(biaP), fill(dstP);

    auto fwdDesc = convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, anyMd(src), anyMd(wei),
                                             biaPlain, anyMd(dst), strides, pads, pads);
    auto fwdPd = convolution_forward::primitive_desc(fwdDesc, eng);
    auto bdDesc = convolution_backward_data::desc(algorithm::convolution_direct, anyMd(src), anyMd(wei), anyMd(dst), strides, pads, pads);
    auto bdPd = convolution_backward_data::primitive_desc(bdDesc, eng, fwdPd);
    auto bwDesc = convolution_backward_weights::desc(algorithm::convolution_direct, anyMd(src), anyMd(wei), biaPlain, anyMd(dst), strides, pads, pads);
    auto bwPd = convolution_backward_weights::primitive_desc(bwDesc, eng, fwdPd);

    // Tensors in the layouts each primitive chose, reordered from the plain ones once.
    auto inLayout = [&](memory& plain, const memory::desc& want) {
      if (want == plain.get_desc()) return plain;
      memory m(want, eng);
      reorder(plain, m).execute(st, plain, m);
      return m;
    };
    memory fSrc = inLayout(srcP, fwdPd.src_desc()), fWei = inLayout(weiP, fwdPd.weights_desc()), fDst(fwdPd.dst_desc(), eng);
    memory dDiffDst = inLayout(dstP, bdPd.diff_dst_desc()), dWei = inLayout(weiP, bdPd.weights_desc()), dDiffSrc(bdPd.diff_src_desc(), eng);
    memory wSrc = inLayout(srcP, bwPd.src_desc()), wDiffDst = inLayout(dstP, bwPd.diff_dst_desc()), wDiffWei(bwPd.diff_weights_desc(), eng),
        wDiffBia(bwPd.diff_bias_desc(), eng);
    st.wait();
    convolution_forward fwd(fwdPd);
    convolution_backward_data bd(bdPd);
    convolution_backward_weights bw(bwPd);
    memory srcOut(srcPlain, eng), weiOut(weiPlain, eng), dstOut(dstPlain, eng);
    auto reorderIf = [&](memory& from, memory& to) {
      if (from.get_desc() != to.get_desc()) reorder(from, to).execute(st, from, to);
    };

    struct Pass {
      const char* name;
      double blocked, nchw;
    } passes[3];
    passes[0] = {"forward",
                 best(repeats, [&] { fwd.execute(st, {{DNNL_ARG_SRC, fSrc}, {DNNL_ARG_WEIGHTS, fWei}, {DNNL_ARG_BIAS, biaP}, {DNNL_ARG_DST, fDst}}); st.wait(); }),
                 best(repeats, [&] {
                   reorderIf(srcP, fSrc), reorderIf(weiP, fWei);
                   fwd.execute(st, {{DNNL_ARG_SRC, fSrc}, {DNNL_ARG_WEIGHTS, fWei}, {DNNL_ARG_BIAS, biaP}, {DNNL_ARG_DST, fDst}});
                   reorderIf(fDst, dstOut);
                   st.wait();
                 })};
    passes[1] = {"input gradient",
                 best(repeats, [&] { bd.execute(st, {{DNNL_ARG_DIFF_DST, dDiffDst}, {DNNL_ARG_WEIGHTS, dWei}, {DNNL_ARG_DIFF_SRC, dDiffSrc}}); st.wait(); }),
                 best(repeats, [&] {
                   reorderIf(dstP, dDiffDst), reorderIf(weiP, dWei);
                   bd.execute(st, {{DNNL_ARG_DIFF_DST, dDiffDst}, {DNNL_ARG_WEIGHTS, dWei}, {DNNL_ARG_DIFF_SRC, dDiffSrc}});
                   reorderIf(dDiffSrc, srcOut);
                   st.wait();
                 })};
    passes[2] = {"weight gradient",
                 best(repeats, [&] {
                   bw.execute(st, {{DNNL_ARG_SRC, wSrc}, {DNNL_ARG_DIFF_DST, wDiffDst}, {DNNL_ARG_DIFF_WEIGHTS, wDiffWei}, {DNNL_ARG_DIFF_BIAS, wDiffBia}});
                   st.wait();
                 }),
                 best(repeats, [&] {
                   reorderIf(srcP, wSrc), reorderIf(dstP, wDiffDst);
                   bw.execute(st, {{DNNL_ARG_SRC, wSrc}, {DNNL_ARG_DIFF_DST, wDiffDst}, {DNNL_ARG_DIFF_WEIGHTS, wDiffWei}, {DNNL_ARG_DIFF_BIAS, wDiffBia}});
                   reorderIf(wDiffWei, weiOut);
                   st.wait();
                 })};
    for (const Pass& p : passes)
      std::printf("%s\t%s\t%.3f\t%.3f\t%.1f\t%.1f\n", L.name, p.name, p.blocked, p.nchw, flops / p.blocked / 1e6, flops / p.nchw / 1e6);
    std::fflush(stdout);
  }
  return 0;
}
