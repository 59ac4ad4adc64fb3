#!/usr/bin/python3
"""PyTorch fixtures for NaN and infinity (issue 17, finding 1: `F.relu(tensor([NaN]))` gave 0 on both backends,
PyTorch gives NaN). Every op gets inputs holding NaN, +inf and -inf at known places beside ordinary values, and
the file records PyTorch's outputs and gradients (of sum(out * gy) for a finite random gy), NaN and infinities
included. test/ops/nonfinite.test.ts compares them position by position: NaN where PyTorch has NaN, the same
infinity where it has one, and close values elsewhere.

    /usr/bin/python3 tools/gen_nonfinite_fixtures.py      # writes test/fixtures/ops/nonfinite.ckfx

Same format and writer as tools/gen_fixtures.py.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import FixtureFile, gen, randn, with_grads  # noqa: E402

NAN, INF = float("nan"), float("inf")


def poisoned(g, *shape, scale=1.0, every=5):
    """A random tensor with NaN, +inf and -inf planted at fixed strides (deterministic positions)."""
    x = randn(g, *shape, scale=scale).flatten()
    for i in range(0, x.numel(), every):
        x[i] = (NAN, INF, -INF)[(i // every) % 3]
    return x.reshape(shape)


def build():
    ff = FixtureFile("nonfinite")
    seed = 9000

    def nxt():
        nonlocal seed
        seed += 1
        return gen(seed)

    # elementwise activations
    acts = {
        "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "gelu": F.gelu,
        "leakyRelu": lambda x: F.leaky_relu(x, 0.1), "elu": F.elu,
        "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs, "neg": torch.neg,
        "clamp": lambda x: torch.clamp(x, -0.5, 0.5),
    }
    for name, fn in acts.items():
        g = nxt()
        x = poisoned(g, 2, 3, 5, scale=2.0)
        if name in ("log", "sqrt"):
            x = x.abs()  # keep the finite part in the domain; NaN and the infinities stay (abs(-inf) = inf)
        ff.add(f"{name}", name, {}, with_grads(lambda x, fn=fn: fn(x), {"x": x}, g))

    # binary ops with a poisoned operand and broadcasting
    for op, fn in (("add", torch.add), ("mul", torch.mul), ("sub", torch.sub), ("div", torch.div), ("max", torch.maximum), ("min", torch.minimum)):
        g = nxt()
        a = poisoned(g, 2, 3, 4, every=7)
        b = randn(g, 3, 4)
        ff.add(f"binary_{op}", "binary", {"op": op}, with_grads(lambda a, b, fn=fn: fn(a, b), {"a": a, "b": b}, g))

    # reductions and softmax family
    for op in ("sum", "mean", "max"):
        g = nxt()
        x = poisoned(g, 3, 7, every=6)
        fn = (lambda x: x.sum(dim=1)) if op == "sum" else (lambda x: x.mean(dim=1)) if op == "mean" else (lambda x: x.max(dim=1).values)
        ff.add(f"reduce_{op}", op, {"dim": 1}, with_grads(fn, {"x": x}, g))
    for op, fn in (("softmax", lambda x: torch.softmax(x, 1)), ("logSoftmax", lambda x: torch.log_softmax(x, 1))):
        g = nxt()
        x = randn(g, 4, 6)
        x[0, 2] = NAN
        x[1, 3] = INF
        x[2, 0] = -INF
        ff.add(op, op, {"dim": 1}, with_grads(fn, {"x": x}, g))

    # cross-entropy with a non-finite logit in one row
    g = nxt()
    logits = randn(g, 4, 5)
    logits[1, 2] = NAN
    logits[3, 0] = INF
    target = torch.tensor([0, 1, 2, 3])
    ff.add("crossEntropy", "crossEntropy", {}, with_grads(lambda logits, target: F.cross_entropy(logits, target, reduction="none"),
                                                            {"logits": logits, "target": target}, g, constant=("target",)))

    # conv2d, linear, matmul: a NaN or inf input pixel spreads to exactly the outputs that read it
    g = nxt()
    x = randn(g, 2, 3, 7, 6)
    x[0, 1, 3, 2] = NAN
    x[1, 0, 0, 5] = INF
    w = randn(g, 4, 3, 3, 3, scale=0.2)
    b = randn(g, 4)
    ff.add("conv2d", "conv2d", {"padding": 1}, with_grads(lambda x, w, b: F.conv2d(x, w, b, padding=1), {"x": x, "w": w, "b": b}, g))
    g = nxt()
    x = randn(g, 2, 6, 9, 9)
    x[1, 2, 4, 4] = NAN
    w = randn(g, 6, 6, 3, 3, scale=0.2)  # >= 4 channels, 3x3, stride 1: the wasm backend's Winograd path
    ff.add("conv2d_winograd", "conv2d", {"padding": 1}, with_grads(lambda x, w: F.conv2d(x, w, None, padding=1), {"x": x, "w": w}, g))
    g = nxt()
    x = randn(g, 3, 8)
    x[1, 4] = NAN
    x[2, 0] = -INF
    w = randn(g, 5, 8, scale=0.3)
    b = randn(g, 5)
    ff.add("linear", "linear", {}, with_grads(lambda x, w, b: F.linear(x, w, b), {"x": x, "w": w, "b": b}, g))

    # pooling: NaN wins a max window (PyTorch), averages take it in
    for name, fn in (("maxPool2d", lambda x: F.max_pool2d(x, 2)), ("avgPool2d", lambda x: F.avg_pool2d(x, 2)),
                     ("maxPool2d_overlap", lambda x: F.max_pool2d(x, 3, stride=2, padding=1))):
        g = nxt()
        x = randn(g, 2, 2, 6, 6)
        x[0, 0, 1, 1] = NAN
        x[0, 1, 2, 3] = INF
        x[1, 0, 4, 4] = -INF
        x[1, 1, 0, 0] = NAN
        ff.add(name, name.replace("_overlap", ""), {"overlap": name.endswith("overlap")}, with_grads(fn, {"x": x}, g))

    # batch norm (training: the NaN enters the channel's statistics)
    g = nxt()
    x = randn(g, 3, 2, 4, 4)
    x[1, 0, 2, 2] = NAN
    weight, bias = randn(g, 2), randn(g, 2)
    ff.add("batchNorm_training", "batchNorm", {"training": True},
           with_grads(lambda x, weight, bias: F.batch_norm(x, None, None, weight, bias, training=True), {"x": x, "weight": weight, "bias": bias}, g))
    # the remaining arithmetic ops: pow, matmul, nll, local response norm, adaptive/global average pooling,
    # and shape ops that only move values (pad, concat)
    g = nxt()
    a = poisoned(g, 3, 5, every=4).abs()
    b = randn(g, 3, 5) * 0.5
    ff.add("binary_pow", "binary", {"op": "pow"}, with_grads(lambda a, b: torch.pow(a, b), {"a": a, "b": b}, g))
    g = nxt()
    a = randn(g, 3, 4)
    a[1, 2] = NAN
    a[2, 0] = INF
    b = randn(g, 4, 5)
    ff.add("matmul", "matmul", {}, with_grads(lambda a, b: a @ b, {"a": a, "b": b}, g))
    g = nxt()
    x = torch.log_softmax(randn(g, 4, 5), 1)
    x[1, 1] = NAN
    x[2, 2] = -INF
    target = torch.tensor([1, 0, 2, 3])
    ff.add("nllLoss", "nllLoss", {}, with_grads(lambda x, target: F.nll_loss(x, target, reduction="none"), {"x": x, "target": target}, g, constant=("target",)))
    g = nxt()
    x = randn(g, 2, 5, 4, 4).abs() + 0.1
    x[0, 2, 1, 1] = NAN
    ff.add("localResponseNorm", "localResponseNorm", {"size": 3}, with_grads(lambda x: F.local_response_norm(x, 3), {"x": x}, g))
    for name, fn in (("adaptiveAvgPool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 3))), ("globalAvgPool2d", lambda x: F.adaptive_avg_pool2d(x, 1)),
                     ("pad", lambda x: F.pad(x, (1, 2, 0, 1))), ("concat", lambda x: torch.cat([x, x * 2], 1))):
        g = nxt()
        x = randn(g, 2, 2, 6, 6)
        x[0, 1, 2, 2] = NAN
        x[1, 0, 5, 0] = INF
        ff.add(name, name, {}, with_grads(fn, {"x": x}, g))
    # locally connected (PyTorch has none: the unfold + einsum reference of tools/gen_fixtures.py)
    g = nxt()
    x = randn(g, 2, 3, 6, 5)
    x[0, 1, 2, 2] = NAN
    x[1, 0, 0, 4] = INF
    w = randn(g, 4 * 3, 4, 3, 3, 3, scale=0.2)
    b = randn(g, 4, 4, 3)

    def lc(x, w, b):
        cols = F.unfold(x, (3, 3))  # [N, C*9, L]
        out = torch.einsum("lok,nkl->nol", w.reshape(12, 4, 27), cols) + b.reshape(1, 4, 12)
        return out.reshape(x.shape[0], 4, 4, 3)
    ff.add("locallyConnected2d", "locallyConnected2d", {}, with_grads(lc, {"x": x, "w": w, "b": b}, g))
    return ff


if __name__ == "__main__":
    path, size, count = build().write()
    print(f"{path}: {count} cases, {size / 1024:.1f} KiB, torch {torch.__version__}")
