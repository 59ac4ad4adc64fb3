#!/usr/bin/python3
"""Write PyTorch reference fixtures for convkit's op tests.

Run with Debian's PyTorch (python3-torch, 1.13 CPU):

    /usr/bin/python3 tools/gen_fixtures.py            # writes test/fixtures/ops/*.ckfx

Everything is float32 on the CPU with fixed seeds, so rerunning the script reproduces the committed files
byte for byte (on the same PyTorch build). Tests read the files with test/helpers/fixtures.ts and never need
PyTorch.

What a case holds
-----------------
For an op ``out = f(a, b, ...)`` a case stores the inputs, the op's options (convkit's camelCase names, passed
through to convkit unchanged), the output ``out``, a random cotangent ``gy`` of the output's shape, and the
gradients of ``sum(out * gy)`` with respect to every differentiable input, named ``grad_<input>``. A random
cotangent (instead of ones) catches gradients that are right only on average (a transposed kernel, a wrong
index in a scatter).

File format (.ckfx, "convkit fixtures", version 1)
--------------------------------------------------
    bytes 0..3   magic  b'CKFX'
    bytes 4..7   uint32 little-endian: format version (1)
    bytes 8..11  uint32 little-endian: header length H in bytes
    bytes 12..   H bytes of UTF-8 JSON (padded with spaces so the data starts at a multiple of 8)
    then         the data section: raw little-endian arrays, each starting at a multiple of 8

The JSON header is ``{"family": str, "torch": str, "cases": [case, ...]}`` where each case is
``{"name": str, "op": str, "params": {...}, "arrays": {name: {"dtype": "f32" | "i32", "shape": [...],
"offset": int}}}``; ``offset`` is in bytes from the start of the data section and the length follows from
the shape. Loader: test/helpers/fixtures.ts.

locallyConnected2d
------------------
PyTorch has no locally connected layer, so the reference is built here from ``F.unfold``: with
``cols = unfold(x)`` of shape [N, C*kh*kw, L] (L = outH*outW, rows ordered channel, then kernel row, then
kernel column), weight ``w`` of shape [L, outC, inC, kh, kw] (one filter bank per output position, row-major
over output positions) and bias ``b`` of shape [outC, outH, outW]::

    out[n, o, l] = sum_k w[l, o, k] * cols[n, k, l] + b[o, l]

which is convolution without weight sharing; autograd through unfold gives the reference gradients.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)  # deterministic summation order

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "ops")


# ------------------------------------------------------------------------------------------- writer

class FixtureFile:
    def __init__(self, family):
        self.family = family
        self.cases = []
        self.names = set()

    def add(self, name, op, params, arrays):
        if name in self.names:
            raise ValueError(f"{self.family}: duplicate case name {name}")
        self.names.add(name)
        self.cases.append((name, op, params, arrays))

    def write(self):
        header_cases, chunks, offset = [], [], 0
        for name, op, params, arrays in self.cases:
            entries = {}
            for key, value in arrays.items():
                t = value.detach().contiguous()
                if t.dtype in (torch.int64, torch.int32):
                    dtype, raw = "i32", t.to(torch.int32).numpy().astype("<i4").tobytes()
                else:
                    dtype, raw = "f32", t.to(torch.float32).numpy().astype("<f4").tobytes()
                entries[key] = {"dtype": dtype, "shape": list(t.shape), "offset": offset}
                pad = (-len(raw)) % 8
                chunks.append(raw + b"\0" * pad)
                offset += len(raw) + pad
            header_cases.append({"name": name, "op": op, "params": params, "arrays": entries})
        header = json.dumps({"family": self.family, "torch": torch.__version__, "cases": header_cases},
                            separators=(",", ":"), sort_keys=False).encode("utf-8")
        header += b" " * ((-(12 + len(header))) % 8)
        path = os.path.join(OUT_DIR, f"{self.family}.ckfx")
        with open(path, "wb") as f:
            f.write(b"CKFX" + struct.pack("<II", 1, len(header)) + header + b"".join(chunks))
        return path, os.path.getsize(path), len(self.cases)


def gen(seed):
    g = torch.Generator().manual_seed(seed)
    return g


def randn(g, *shape, scale=1.0):
    return torch.randn(tuple(shape), generator=g) * scale


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def with_grads(fn, inputs, g, constant=()):
    """Evaluate fn(**inputs), backprop a random cotangent; returns arrays: inputs, out, gy, grad_<name>.

    Every float input gets a gradient except those named in `constant` (class weights, targets, ...)."""
    grad_names = [k for k, v in inputs.items() if v.is_floating_point() and k not in constant]
    leaves = {k: leaf(v) if k in grad_names else v for k, v in inputs.items()}
    out = fn(**leaves)
    gy = torch.randn(out.shape, generator=g)
    (out * gy).sum().backward()
    arrays = {k: v.detach() for k, v in inputs.items()}
    arrays["out"] = out.detach()
    arrays["gy"] = gy
    for k in grad_names:
        if leaves[k].grad is not None:
            arrays[f"grad_{k}"] = leaves[k].grad
    return arrays


# ------------------------------------------------------------------------------------------- conv2d

def torch_padding(padding):
    return tuple(padding) if isinstance(padding, list) else padding


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_cases():
    ff = FixtureFile("conv2d")
    seed = 1000

    def case(name, n, c_in, h, w, c_out, k, stride=1, padding=0, dilation=1, groups=1, bias=True):
        nonlocal seed
        seed += 1
        g = gen(seed)
        kh, kw = pair(k)
        fan_in = (c_in // groups) * kh * kw
        inputs = {"x": randn(g, n, c_in, h, w), "w": randn(g, c_out, c_in // groups, kh, kw, scale=1 / math.sqrt(fan_in))}
        if bias:
            inputs["b"] = randn(g, c_out)
        params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups, "bias": bias}

        def fn(x, w, b=None):
            return F.conv2d(x, w, b, stride=pair(stride), padding=torch_padding(padding), dilation=pair(dilation), groups=groups)
        ff.add(name, "conv2d", params, with_grads(fn, inputs, g))

    # the full stride x padding x dilation grid on one odd, non-square input
    for s in (1, 2, 3):
        for p in (0, 1, 2):
            for d in (1, 2):
                case(f"grid_s{s}_p{p}_d{d}", 2, 3, 9, 8, 4, 3, stride=s, padding=p, dilation=d)
    # groups
    case("groups2", 2, 4, 7, 6, 6, 3, padding=1, groups=2)
    case("groups2_s2_d2", 2, 4, 9, 8, 4, 3, stride=2, padding=2, dilation=2, groups=2)
    case("depthwise", 2, 4, 7, 7, 4, 3, padding=1, groups=4)
    case("depthwise_mult2_s2", 1, 3, 8, 9, 6, 3, stride=2, padding=1, groups=3)
    case("groups3_nobias", 2, 6, 5, 6, 3, [2, 3], padding=[1, 0], groups=3, bias=False)
    # kernel shapes
    case("k1x1", 2, 5, 6, 4, 3, 1)
    case("k1x1_s2", 1, 4, 7, 6, 5, 1, stride=2)
    case("k2x3", 2, 3, 8, 7, 4, [2, 3], padding=1)
    case("k3x1_s2x1", 2, 3, 9, 5, 2, [3, 1], stride=[2, 1], padding=[1, 0])
    case("k1x5_pair_padding", 1, 2, 4, 9, 3, [1, 5], padding=[0, 2])
    case("k5_even_input", 2, 3, 8, 8, 4, 5, padding=2)
    case("k4_even_kernel", 2, 2, 9, 10, 3, 4, stride=2, padding=1)
    case("kernel_equals_input", 2, 3, 4, 5, 4, [4, 5])
    # sizes and batch
    case("odd_input_nobias", 3, 2, 5, 7, 3, 3, bias=False)
    case("batch1_h_ne_w", 1, 3, 6, 11, 4, 3, stride=2, padding=1)
    case("batch4_small", 4, 1, 5, 5, 2, 2)
    case("wide_channels", 1, 8, 4, 4, 8, 3, padding=1)
    case("stride_pair_dilation_pair", 2, 2, 11, 10, 3, 3, stride=[3, 2], padding=[2, 1], dilation=[2, 1])
    # 'same' (stride 1 only, as in PyTorch) and 'valid'
    case("same_k3", 2, 3, 7, 6, 4, 3, padding="same")
    case("same_k4_even", 2, 3, 7, 6, 4, 4, padding="same")
    case("same_k2x3_d2", 1, 2, 8, 7, 3, [2, 3], padding="same", dilation=2)
    case("same_k5_groups2", 2, 4, 6, 6, 2, 5, padding="same", groups=2)
    case("valid_k3", 2, 3, 7, 6, 4, 3, padding="valid")
    case("valid_s2_nobias", 2, 3, 8, 7, 4, [3, 2], stride=2, padding="valid", bias=False)
    # 3x3 stride-1 convolutions with >= 4 channels each way take the wasm backend's Winograd path (forward and
    # input gradient): odd sizes leave partial 2x2 output tiles at the right and bottom edges.
    case("winograd_p0", 2, 6, 9, 11, 5, 3, padding=0)
    case("winograd_p1", 2, 5, 9, 11, 7, 3, padding=1)
    case("winograd_p2", 2, 8, 9, 11, 6, 3, padding=2)
    case("winograd_16ch_nobias", 2, 16, 7, 9, 16, 3, padding=1, bias=False)
    case("winograd_same", 2, 4, 10, 7, 4, 3, padding="same")
    case("winograd_output_1x2", 2, 4, 3, 4, 4, 3)
    # >= 16 channels each way: the weight gradient takes Winograd F(3x3,2x2) too
    case("winograd_16ch_p0", 2, 16, 9, 11, 17, 3, padding=0)
    case("winograd_16ch_p2", 2, 18, 8, 9, 16, 3, padding=2)
    # shapes the wasm backend computes with its direct kernels (small C/g*KH*KW, depthwise)
    case("direct_c1_k5_p2_batch3", 3, 1, 12, 13, 6, 5, padding=2)
    case("direct_c3_k3_s2", 2, 3, 11, 13, 5, 3, stride=2, padding=1)
    case("direct_c2_k3_d2_s3x1", 2, 2, 10, 17, 3, 3, stride=[3, 1], padding=[2, 1], dilation=2)
    case("depthwise_m1_s1_p1", 2, 6, 10, 11, 6, 3, padding=1, groups=6)
    case("depthwise_m2_s1_p2_k5", 2, 3, 9, 14, 6, 5, padding=2, groups=3)
    case("depthwise_m1_s2_p1", 2, 5, 11, 9, 5, 3, stride=2, padding=1, groups=5)
    case("depthwise_m2_s2_p0_nobias", 1, 4, 12, 10, 8, 3, stride=2, groups=4, bias=False)
    case("depthwise_m1_s2_p2_d2", 2, 3, 13, 12, 3, 3, stride=2, padding=2, dilation=2, groups=3)
    case("direct_input_grad_c4_w29", 2, 4, 6, 29, 3, 3, padding=1)
    return ff


def locally_connected_cases():
    ff = FixtureFile("locally_connected2d")
    seed = 2000

    def case(name, n, c_in, h, w, c_out, k, stride=1, padding=0, dilation=1, bias=True):
        nonlocal seed
        seed += 1
        g = gen(seed)
        kh, kw = pair(k)
        sh, sw = pair(stride)
        ph, pw = pair(padding)
        dh, dw = pair(dilation)
        out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        fan_in = c_in * kh * kw
        inputs = {"x": randn(g, n, c_in, h, w),
                  "w": randn(g, out_h * out_w, c_out, c_in, kh, kw, scale=1 / math.sqrt(fan_in))}
        if bias:
            inputs["b"] = randn(g, c_out, out_h, out_w)
        params = {"stride": stride, "padding": padding, "dilation": dilation, "bias": bias}

        def fn(x, w, b=None):
            cols = F.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))  # [N, C*kh*kw, L]
            wl = w.reshape(out_h * out_w, c_out, c_in * kh * kw)
            out = torch.einsum("lok,nkl->nol", wl, cols)
            if b is not None:
                out = out + b.reshape(1, c_out, out_h * out_w)
            return out.reshape(x.shape[0], c_out, out_h, out_w)
        ff.add(name, "locallyConnected2d", params, with_grads(fn, inputs, g))

    case("k3", 2, 3, 6, 5, 4, 3)
    case("k3_p1", 2, 2, 5, 5, 3, 3, padding=1)
    case("k2x3_s2", 2, 3, 7, 8, 2, [2, 3], stride=2)
    case("k3_s2_p1_d2_nobias", 1, 2, 8, 7, 3, 3, stride=2, padding=1, dilation=2, bias=False)
    case("k1", 3, 4, 3, 4, 2, 1)
    case("pairs", 2, 2, 9, 6, 3, [3, 2], stride=[2, 1], padding=[1, 0], dilation=[1, 2])
    return ff


# ------------------------------------------------------------------------------------------- pooling

def pool_cases():
    ff = FixtureFile("pool2d")
    seed = 3000

    def nextg():
        nonlocal seed
        seed += 1
        return gen(seed)

    def maxpool(name, shape, k, stride=None, padding=0, dilation=1, ceil_mode=False):
        g = nextg()
        params = {"kernelSize": k, "padding": padding, "dilation": dilation, "ceilMode": ceil_mode}
        if stride is not None:
            params["stride"] = stride
        fn = lambda x: F.max_pool2d(x, pair(k), stride=pair(stride) if stride is not None else None,
                                    padding=pair(padding), dilation=pair(dilation), ceil_mode=ceil_mode)
        ff.add("max_" + name, "maxPool2d", params, with_grads(fn, {"x": randn(g, *shape)}, g))

    maxpool("k2", (2, 3, 8, 6), 2)
    maxpool("k2_odd_floor", (2, 2, 7, 5), 2)
    maxpool("k2_odd_ceil", (2, 2, 7, 5), 2, ceil_mode=True)
    maxpool("k3_s2", (2, 3, 9, 8), 3, stride=2)
    maxpool("k3_s2_p1", (2, 3, 8, 7), 3, stride=2, padding=1)
    maxpool("k3_s2_p1_ceil", (2, 3, 8, 7), 3, stride=2, padding=1, ceil_mode=True)
    maxpool("k3_s1_p1", (1, 2, 5, 6), 3, stride=1, padding=1)
    maxpool("k2x3_s_pair", (2, 2, 7, 9), [2, 3], stride=[1, 2], padding=[1, 1])
    maxpool("k3_d2", (1, 2, 9, 9), 3, stride=1, dilation=2)
    maxpool("k2_d2_ceil_p1", (2, 2, 8, 7), 2, stride=2, padding=1, dilation=2, ceil_mode=True)
    maxpool("k3_s3_ceil", (1, 3, 10, 11), 3, ceil_mode=True)

    def avgpool(name, shape, k, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
        g = nextg()
        params = {"kernelSize": k, "padding": padding, "ceilMode": ceil_mode, "countIncludePad": count_include_pad}
        if stride is not None:
            params["stride"] = stride
        if divisor_override is not None:
            params["divisorOverride"] = divisor_override
        fn = lambda x: F.avg_pool2d(x, pair(k), stride=pair(stride) if stride is not None else None,
                                    padding=pair(padding), ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                                    divisor_override=divisor_override)
        ff.add("avg_" + name, "avgPool2d", params, with_grads(fn, {"x": randn(g, *shape)}, g))

    avgpool("k2", (2, 3, 8, 6), 2)
    avgpool("k2_odd_ceil", (2, 2, 7, 5), 2, ceil_mode=True)
    avgpool("k3_s2_p1_incl", (2, 3, 8, 7), 3, stride=2, padding=1)
    avgpool("k3_s2_p1_excl", (2, 3, 8, 7), 3, stride=2, padding=1, count_include_pad=False)
    avgpool("k3_s2_p1_ceil_incl", (2, 3, 8, 7), 3, stride=2, padding=1, ceil_mode=True)
    avgpool("k3_s2_p1_ceil_excl", (2, 3, 8, 7), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    avgpool("k3_s3_ceil", (1, 3, 10, 11), 3, ceil_mode=True)
    avgpool("k2x3_pair", (2, 2, 7, 9), [2, 3], stride=[1, 2], padding=[1, 1])
    avgpool("k3_divisor5", (2, 2, 6, 7), 3, stride=1, padding=1, divisor_override=5)
    avgpool("k2_ceil_divisor3", (1, 2, 5, 5), 2, ceil_mode=True, divisor_override=3)

    def adaptive(kind, name, shape, out):
        g = nextg()
        fn = (lambda x: F.adaptive_avg_pool2d(x, out)) if kind == "avg" else (lambda x: F.adaptive_max_pool2d(x, out))
        op = "adaptiveAvgPool2d" if kind == "avg" else "adaptiveMaxPool2d"
        ff.add(f"adaptive_{kind}_{name}", op, {"outputSize": list(out) if isinstance(out, tuple) else out},
               with_grads(fn, {"x": randn(g, *shape)}, g))

    for kind in ("avg", "max"):
        adaptive(kind, "divides", (2, 3, 6, 4), (3, 2))
        adaptive(kind, "not_divides", (2, 3, 7, 5), (3, 2))
        adaptive(kind, "int_out", (1, 2, 10, 9), 4)
        adaptive(kind, "global", (2, 4, 5, 6), 1)
        adaptive(kind, "upsample", (1, 2, 3, 4), (5, 6))
        adaptive(kind, "identity", (1, 2, 4, 3), (4, 3))
    return ff


# ------------------------------------------------------------------------------------------- batch norm

def batch_norm_cases():
    ff = FixtureFile("batch_norm")
    seed = 4000
    for shape in ((8, 3), (4, 3, 5), (3, 4, 5, 6), (2, 3, 1, 1)):
        for training in (True, False):
            for affine in (True, False):
                for momentum, eps in ((0.1, 1e-5), (0.3, 1e-3)):
                    seed += 1
                    g = gen(seed)
                    c = shape[1]
                    x = randn(g, *shape, scale=2.0) + 0.5
                    rm = randn(g, c, scale=0.5)
                    rv = torch.rand(c, generator=g) + 0.5
                    inputs = {"x": x}
                    if affine:
                        inputs["weight"] = randn(g, c) + 1
                        inputs["bias"] = randn(g, c)
                    running_mean, running_var = rm.clone(), rv.clone()

                    def fn(x, weight=None, bias=None):
                        return F.batch_norm(x, running_mean, running_var, weight, bias, training=training,
                                            momentum=momentum, eps=eps)
                    arrays = with_grads(fn, inputs, g)
                    arrays["running_mean"] = rm
                    arrays["running_var"] = rv
                    arrays["running_mean_after"] = running_mean
                    arrays["running_var_after"] = running_var
                    dims = "x".join(map(str, shape))
                    name = f"{dims}_{'train' if training else 'eval'}_{'affine' if affine else 'plain'}_m{momentum}"
                    ff.add(name, "batchNorm", {"training": training, "momentum": momentum, "eps": eps, "affine": affine},
                           arrays)
    return ff


# ------------------------------------------------------------------------------------------- losses

def loss_cases():
    ff = FixtureFile("losses")
    seed = 5000

    def nextg():
        nonlocal seed
        seed += 1
        return gen(seed)

    n, c = 6, 5
    for reduction in ("mean", "sum", "none"):
        for smoothing in (0.0, 0.1):
            for weighted in (False, True):
                g = nextg()
                logits = randn(g, n, c, scale=2.0)
                target = torch.randint(0, c, (n,), generator=g)
                inputs = {"logits": logits, "target": target}
                if weighted:
                    inputs["weight"] = torch.rand(c, generator=g) + 0.5
                params = {"reduction": reduction, "labelSmoothing": smoothing, "weighted": weighted}

                def fn(logits, target, weight=None):
                    return F.cross_entropy(logits, target, weight=weight, reduction=reduction, label_smoothing=smoothing)
                name = f"ce_{reduction}_ls{smoothing}_{'w' if weighted else 'nw'}"
                ff.add(name, "crossEntropy", params, with_grads(fn, inputs, g, constant={"weight"}))
    # a larger class count and a single-sample batch
    for name, (nn_, cc) in (("ce_n1_c10", (1, 10)), ("ce_n16_c3", (16, 3))):
        g = nextg()
        inputs = {"logits": randn(g, nn_, cc, scale=3.0), "target": torch.randint(0, cc, (nn_,), generator=g)}
        ff.add(name, "crossEntropy", {"reduction": "mean", "labelSmoothing": 0.0, "weighted": False},
               with_grads(lambda logits, target: F.cross_entropy(logits, target), inputs, g))

    for reduction in ("mean", "sum", "none"):
        for weighted in (False, True):
            g = nextg()
            inputs = {"input": F.log_softmax(randn(g, n, c, scale=2.0), dim=1),
                      "target": torch.randint(0, c, (n,), generator=g)}
            if weighted:
                inputs["weight"] = torch.rand(c, generator=g) + 0.5

            def fn(input, target, weight=None):
                return F.nll_loss(input, target, weight=weight, reduction=reduction)
            ff.add(f"nll_{reduction}_{'w' if weighted else 'nw'}", "nllLoss", {"reduction": reduction, "weighted": weighted},
                   with_grads(fn, inputs, g, constant={"weight"}))

    for reduction in ("mean", "sum", "none"):
        g = nextg()
        inputs = {"input": randn(g, 4, 3, 2), "target": randn(g, 4, 3, 2)}
        ff.add(f"mse_{reduction}", "mseLoss", {"reduction": reduction},
               with_grads(lambda input, target: F.mse_loss(input, target, reduction=reduction), inputs, g))

    for reduction in ("mean", "sum", "none"):
        for pos in (False, True):
            g = nextg()
            inputs = {"input": randn(g, 5, 4, scale=3.0), "target": torch.rand(5, 4, generator=g)}
            if pos:
                inputs["posWeight"] = torch.rand(4, generator=g) * 3 + 0.2

            def fn(input, target, posWeight=None):
                return F.binary_cross_entropy_with_logits(input, target, reduction=reduction, pos_weight=posWeight)
            ff.add(f"bce_{reduction}_{'pw' if pos else 'nopw'}", "bceWithLogits", {"reduction": reduction, "posWeight": pos},
                   with_grads(fn, inputs, g, constant={"target", "posWeight"}))

    # ignore_index (appended last so the cases above keep their seeds): rows 1 and 4 are ignored, either through
    # the default -100 or through a real class index (2: every row whose target is 2).
    for reduction in ("mean", "sum", "none"):
        for ignore, smoothing, weighted in ((-100, 0.0, False), (-100, 0.1, True), (2, 0.0, True)):
            g = nextg()
            logits = randn(g, n, c, scale=2.0)
            target = torch.randint(0, c, (n,), generator=g)
            target[1] = ignore
            target[4] = ignore
            inputs = {"logits": logits, "target": target}
            if weighted:
                inputs["weight"] = torch.rand(c, generator=g) + 0.5
            params = {"reduction": reduction, "labelSmoothing": smoothing, "weighted": weighted, "ignoreIndex": ignore}

            def fn(logits, target, weight=None):
                return F.cross_entropy(logits, target, weight=weight, reduction=reduction, label_smoothing=smoothing,
                                       ignore_index=ignore)
            name = f"ce_{reduction}_ignore{ignore}_ls{smoothing}_{'w' if weighted else 'nw'}"
            ff.add(name, "crossEntropy", params, with_grads(fn, inputs, g, constant={"weight"}))
        for ignore, weighted in ((-100, True), (2, False)):
            g = nextg()
            target = torch.randint(0, c, (n,), generator=g)
            target[1] = ignore
            target[4] = ignore
            inputs = {"input": F.log_softmax(randn(g, n, c, scale=2.0), dim=1), "target": target}
            if weighted:
                inputs["weight"] = torch.rand(c, generator=g) + 0.5

            def fn(input, target, weight=None):
                return F.nll_loss(input, target, weight=weight, reduction=reduction, ignore_index=ignore)
            ff.add(f"nll_{reduction}_ignore{ignore}_{'w' if weighted else 'nw'}", "nllLoss",
                   {"reduction": reduction, "weighted": weighted, "ignoreIndex": ignore},
                   with_grads(fn, inputs, g, constant={"weight"}))

    # logits [N, C, H, W] with targets [N, H, W] (per-position classes)
    for reduction, smoothing, weighted, ignore in (("mean", 0.0, False, -100), ("none", 0.0, False, -100),
                                                   ("sum", 0.1, True, -100), ("mean", 0.1, True, 1)):
        g = nextg()
        logits = randn(g, 2, 4, 3, 2, scale=2.0)
        target = torch.randint(0, 4, (2, 3, 2), generator=g)
        target[0, 1, 0] = ignore
        inputs = {"logits": logits, "target": target}
        if weighted:
            inputs["weight"] = torch.rand(4, generator=g) + 0.5
        params = {"reduction": reduction, "labelSmoothing": smoothing, "weighted": weighted, "ignoreIndex": ignore}

        def fn(logits, target, weight=None):
            return F.cross_entropy(logits, target, weight=weight, reduction=reduction, label_smoothing=smoothing,
                                   ignore_index=ignore)
        ff.add(f"ce_nchw_{reduction}_ls{smoothing}_{'w' if weighted else 'nw'}_ignore{ignore}", "crossEntropy", params,
               with_grads(fn, inputs, g, constant={"weight"}))
    return ff


# ------------------------------------------------------------------------------------------- linear algebra

def linear_cases():
    ff = FixtureFile("linear_matmul")
    seed = 6000

    def nextg():
        nonlocal seed
        seed += 1
        return gen(seed)

    for name, xs, (o, i), bias in (("2d", (5, 7), (4, 7), True), ("2d_nobias", (3, 6), (5, 6), False),
                                   ("3d", (2, 3, 4), (6, 4), True), ("batch1", (1, 9), (2, 9), True)):
        g = nextg()
        inputs = {"x": randn(g, *xs), "w": randn(g, o, i, scale=1 / math.sqrt(i))}
        if bias:
            inputs["b"] = randn(g, o)
        ff.add("linear_" + name, "linear", {"bias": bias}, with_grads(lambda x, w, b=None: F.linear(x, w, b), inputs, g))

    for name, a_shape, b_shape in (("2d", (4, 6), (6, 3)), ("2d_vec_shapes", (1, 5), (5, 1)),
                                   ("batched", (3, 4, 5), (3, 5, 2)), ("batched_by_2d", (2, 3, 4), (4, 5)),
                                   ("4d", (2, 3, 2, 4), (2, 3, 4, 3)), ("broadcast_batch", (2, 1, 3, 4), (3, 4, 2))):
        g = nextg()
        inputs = {"a": randn(g, *a_shape), "b": randn(g, *b_shape)}
        ff.add("matmul_" + name, "matmul", {}, with_grads(lambda a, b: torch.matmul(a, b), inputs, g))
    return ff


# ------------------------------------------------------------------------------------------- activations

def activation_cases():
    ff = FixtureFile("activations")
    seed = 7000

    def add(name, op, params, fn, shape=(2, 3, 4, 5), scale=3.0):
        nonlocal seed
        seed += 1
        g = gen(seed)
        ff.add(name, op, params, with_grads(fn, {"x": randn(g, *shape, scale=scale)}, g))

    add("relu", "relu", {}, lambda x: F.relu(x))
    add("leaky_relu_default", "leakyRelu", {}, lambda x: F.leaky_relu(x))
    add("leaky_relu_0.2", "leakyRelu", {"negativeSlope": 0.2}, lambda x: F.leaky_relu(x, 0.2))
    add("elu_default", "elu", {}, lambda x: F.elu(x))
    add("elu_0.5", "elu", {"alpha": 0.5}, lambda x: F.elu(x, 0.5))
    add("gelu", "gelu", {}, lambda x: F.gelu(x))  # exact (erf) form, PyTorch's default
    add("sigmoid", "sigmoid", {}, lambda x: torch.sigmoid(x), scale=5.0)
    add("tanh", "tanh", {}, lambda x: torch.tanh(x))
    add("softmax_last", "softmax", {"dim": -1}, lambda x: F.softmax(x, dim=-1))
    add("softmax_dim1", "softmax", {"dim": 1}, lambda x: F.softmax(x, dim=1))
    add("softmax_2d", "softmax", {"dim": 1}, lambda x: F.softmax(x, dim=1), shape=(6, 10), scale=5.0)
    add("log_softmax_last", "logSoftmax", {"dim": -1}, lambda x: F.log_softmax(x, dim=-1))
    add("log_softmax_dim0", "logSoftmax", {"dim": 0}, lambda x: F.log_softmax(x, dim=0))
    add("log_softmax_2d", "logSoftmax", {"dim": 1}, lambda x: F.log_softmax(x, dim=1), shape=(6, 10), scale=5.0)

    for name, size, alpha, beta, k in (("size5_default", 5, 1e-4, 0.75, 1.0), ("size2_even", 2, 0.5, 0.75, 1.0),
                                       ("size3_strong", 3, 1.0, 0.5, 2.0), ("size4", 4, 0.1, 1.0, 0.5)):
        params = {"size": size, "alpha": alpha, "beta": beta, "k": k}
        add("lrn_" + name, "localResponseNorm", params,
            lambda x, size=size, alpha=alpha, beta=beta, k=k: F.local_response_norm(x, size, alpha, beta, k),
            shape=(2, 7, 3, 4), scale=2.0)
    return ff


# ------------------------------------------------------------------------------------------- shape ops

def shape_cases():
    ff = FixtureFile("shape_ops")
    seed = 8000

    def nextg():
        nonlocal seed
        seed += 1
        return gen(seed)

    for name, padding, value in (("lrtb", [1, 2, 0, 3], 0.0), ("symmetric_value", [2, 2, 1, 1], -1.5),
                                 ("width_only", [0, 3, 0, 0], 0.0), ("zero", [0, 0, 0, 0], 0.0)):
        g = nextg()
        ff.add("pad_" + name, "pad", {"padding": padding, "value": value},
               with_grads(lambda x: F.pad(x, tuple(padding), value=value), {"x": randn(g, 2, 3, 4, 5)}, g))

    for name, shapes, dim in (("dim1", [(2, 3, 4, 4), (2, 5, 4, 4), (2, 1, 4, 4)], 1),
                              ("dim0", [(1, 3), (4, 3)], 0), ("last", [(2, 3, 2), (2, 3, 4)], -1),
                              ("single", [(2, 3)], 0)):
        g = nextg()
        inputs = {f"x{i}": randn(g, *s) for i, s in enumerate(shapes)}

        def fn(dim=dim, **xs):
            return torch.cat([xs[f"x{i}"] for i in range(len(xs))], dim=dim)
        ff.add("concat_" + name, "concat", {"dim": dim, "count": len(shapes)}, with_grads(fn, inputs, g))
    return ff


# ------------------------------------------------------------------------------------------- elementwise + reductions

def elementwise_cases():
    ff = FixtureFile("elementwise")
    seed = 9000

    def nextg():
        nonlocal seed
        seed += 1
        return gen(seed)

    shape_pairs = (("same", (2, 3, 4), (2, 3, 4)), ("row", (2, 3, 4), (4,)), ("col", (2, 3, 4), (3, 1)),
                   ("both", (2, 1, 4), (1, 3, 1)), ("scalar_tensor", (3, 4), ()), ("lhs_small", (3, 1), (2, 3, 4)))
    binary = {
        "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
        "maximum": torch.maximum, "minimum": torch.minimum, "pow": torch.pow,
    }
    for op, fn in binary.items():
        for name, sa, sb in shape_pairs:
            g = nextg()
            a, b = randn(g, *sa), randn(g, *sb)
            if op == "div":
                b = torch.sign(b) * (b.abs() + 0.5)
            if op == "pow":
                a = torch.rand(tuple(sa), generator=g) + 0.5  # positive base: a real gradient w.r.t. the exponent
            ff.add(f"{op}_{name}", op, {}, with_grads(lambda a, b, fn=fn: fn(a, b), {"a": a, "b": b}, g))
        g = nextg()
        a = torch.rand(3, 4, generator=g) + 0.5 if op == "pow" else randn(g, 3, 4)
        scalar = 0.3 if op in ("maximum", "minimum") else 1.7
        number_fn = (lambda a, fn=fn: fn(a, torch.tensor(scalar))) if op in ("maximum", "minimum") else (lambda a, fn=fn: fn(a, scalar))
        ff.add(f"{op}_number", op, {"scalar": scalar}, with_grads(number_fn, {"a": a}, g))

    unary = {"neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs}
    for op, fn in unary.items():
        g = nextg()
        x = torch.rand(3, 5, generator=g) * 3 + 0.1 if op in ("log", "sqrt") else randn(g, 3, 5)
        ff.add(op, op, {}, with_grads(lambda x, fn=fn: fn(x), {"x": x}, g))
    for name, lo, hi in (("both", -0.5, 0.7), ("min_only", -0.3, None), ("max_only", None, 0.4)):
        g = nextg()
        ff.add(f"clamp_{name}", "clamp", {"min": lo, "max": hi},
               with_grads(lambda x: torch.clamp(x, lo, hi), {"x": randn(g, 4, 5)}, g))
    return ff


def reduction_cases():
    ff = FixtureFile("reductions")
    seed = 10000
    shape = (2, 3, 4, 5)
    dims = (None, 0, 1, -1, [0, 2], [1, 2, 3])
    for op in ("sum", "mean", "max", "min"):
        for dim in dims:
            if op in ("max", "min") and isinstance(dim, list):
                continue  # max/min reduce one dimension (or all)
            for keepdim in ((False,) if dim is None else (False, True)):
                seed += 1
                g = gen(seed)
                x = randn(g, *shape)

                def fn(x, op=op, dim=dim, keepdim=keepdim):
                    if dim is None:
                        return getattr(torch, op)(x)
                    if op in ("max", "min"):
                        return getattr(torch, op)(x, dim=dim, keepdim=keepdim).values
                    return getattr(torch, op)(x, dim=dim, keepdim=keepdim)
                dname = "all" if dim is None else ("_".join(map(str, dim)) if isinstance(dim, list) else str(dim))
                params = {"keepdim": keepdim}
                if dim is not None:
                    params["dim"] = dim
                ff.add(f"{op}_{dname}{'_keep' if keepdim else ''}", op, params, with_grads(fn, {"x": x}, g))
    return ff


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for build in (conv2d_cases, locally_connected_cases, pool_cases, batch_norm_cases, loss_cases, linear_cases,
                  activation_cases, shape_cases, elementwise_cases, reduction_cases):
        path, size, count = build().write()
        total += size
        print(f"{os.path.relpath(path, ROOT)}: {count} cases, {size / 1024:.1f} KiB")
    print(f"total {total / 1024:.1f} KiB")
    if total > 5 * 1024 * 1024:
        sys.exit("fixtures exceed 5 MiB")


if __name__ == "__main__":
    main()
