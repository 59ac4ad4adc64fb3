"""Experiment 2 (translation equivariance, layer by layer) in PyTorch: the reference vggsmall and lcnet trained with
convkit's budgets and early stopping on its validation split (seed 0), then for a 1-pixel horizontal shift of the
first test images (black fill) the relative error ||layer(shift x) - shift(layer x)|| / ||layer x|| on each spatial
layer's interior (positions whose receptive field sees neither padding nor the pixels the shift moved), as convkit's
src/lab/probe.ts computes it; writes lab/pytorch/equivariance.json.

/usr/bin/python3 tools/lab_equivariance.py [--quick] [--protocol FILE]   (see tools/lab_common.py)
"""
import math
import sys

import torch
import torch.nn as nn

import lab_common as lab


def js_round(x):
    """JavaScript's Math.round (halves round up), which convkit uses for the output shift."""
    return math.floor(x + 0.5)


def traced_layers(model, x):
    """(output, receptive field size, jump, start) of every leaf of a Sequential, in order (one axis: the nets are square)."""
    size, jump, start = 1, 1, 0.0
    out = []
    with torch.no_grad():
        for m in model:
            x = m(x)
            if isinstance(m, (nn.Conv2d, nn.MaxPool2d, lab.LocallyConnected2d)):
                k = m.k if isinstance(m, lab.LocallyConnected2d) else (m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[1])
                s = 1 if isinstance(m, lab.LocallyConnected2d) else (m.stride if isinstance(m.stride, int) else m.stride[1])
                p = m.padding if isinstance(m.padding, int) else m.padding[1]
                size, start, jump = size + (k - 1) * jump, start + ((k - 1) / 2 - p) * jump, jump * s
            out.append((x.clone(), size, jump, start))
    return out


def interior_range(input_size, rf, jump, start, margin, output_size):
    half = (rf - 1) / 2
    lo = max(0, math.ceil((margin + half - start) / jump - 1e-9))
    hi = min(output_size - 1, math.floor((input_size - 1 - margin - half - start) / jump + 1e-9))
    return lo, hi


def equivariance_error(base, shifted, jump, rows, cols, dx):
    """convkit's equivarianceError for a horizontal shift dx: base[y, x] against shifted[y, x + round(dx / jump)]."""
    ox = js_round(dx / jump)
    num = den = 0.0
    for y in range(rows[0], rows[1] + 1):
        for x in range(cols[0], cols[1] + 1):
            if not cols[0] <= x + ox <= cols[1]:
                continue
            a = base[:, :, y, x]
            b = shifted[:, :, y, x + ox]
            num += ((a - b) ** 2).sum().item()
            den += (a ** 2).sum().item()
    return math.sqrt(num / den) if den > 0 else float("nan")


def layer_errors(model, x, dx, input_size, fill):
    shifted_input = torch.full_like(x, fill)
    shifted_input[..., dx:] = x[..., :-dx]
    base = traced_layers(model, x)
    moved = traced_layers(model, shifted_input)
    errors = []
    for (b, rf, jump, start), (s, _, _, _) in zip(base, moved):
        if b.dim() != 4:
            break
        rows = interior_range(input_size, rf, jump, start, 0, b.shape[2])
        cols = interior_range(input_size, rf, jump, start, dx, b.shape[3])
        errors.append({"jump": jump, "receptiveField": rf, "relativeError": equivariance_error(b, s, jump, rows, cols, dx)})
    return errors


def main():
    run = lab.Run("equivariance", __doc__)
    data, p = run.data, run.p
    x, y = data.first_of_train_part(p["trainImages"])
    validation = data.validation()
    probe = lab.normalize(data.test_x[:p["probeImages"]], data.mean, data.std)
    fill = -data.mean / data.std  # black, normalized
    for name, budget in p["models"].items():
        model = lab.seeded_model(0, name)
        o = lab.train_epochs(model, x, y, data, budget, 0, validation=validation, label=name)
        model.eval()
        features = model[:10]  # every spatial layer: the nets' convolution (or locally connected) and pooling stages
        errors = layer_errors(features, probe, p["shift"], 28, fill)
        finite = [e for e in errors if math.isfinite(e["relativeError"])]
        if name == "vggsmall":
            run.add("vggsmall conv error 1px", max(e["relativeError"] for e in finite if e["jump"] == 1))
            run.add("vggsmall pooled error 1px", max(e["relativeError"] for e in finite if e["jump"] > 1))
        else:
            run.add("lcnet error 1px", min(e["relativeError"] for e in finite))
        run.runs.append({"model": name, "layers": errors, **{k: o[k] for k in ("bestValidationAccuracy", "bestEpoch", "epochsRun", "seconds")}})
        print(f"  {name}: " + ", ".join(f"{e['relativeError']:.2e}" for e in errors) + f" (best epoch {o['bestEpoch']} of {o['epochsRun']})", file=sys.stderr)
    run.finish()


if __name__ == "__main__":
    main()
