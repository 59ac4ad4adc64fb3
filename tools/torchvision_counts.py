#!/usr/bin/python3
"""Print (and save) torchvision's parameter counts and multiply-accumulate counts for the classic zoo models.

Run with Debian's PyTorch/torchvision (python3-torchvision 0.14, CPU):

    /usr/bin/python3 tools/torchvision_counts.py            # prints a table, writes test/fixtures/zoo/torchvision_counts.json
    /usr/bin/python3 tools/torchvision_counts.py --no-macs  # parameter counts only (seconds instead of a minute)

convkit's zoo (src/models) builds the same architectures with the same state-dict keys; test/zoo reads the JSON
written here and checks that every convkit model has exactly these parameter counts, the same state-dict keys and
shapes, and the same multiply-accumulate (MAC) counts.

How MACs are counted (the same rule as convkit's `summary`, src/inspect/summary.ts):
  * Conv2d: one MAC per weight tap per output element: N * C_out * H_out * W_out * (C_in / groups) * kH * kW.
  * Linear: N * in_features * out_features.
  * Everything else (bias additions, BatchNorm, activations, pooling, residual additions, concatenation,
    LocalResponseNorm, dropout) counts 0. This is the convention behind the commonly published figures
    (ResNet-50 ~4.1 G, VGG-16 ~15.5 G; torchvision's own "GFLOPS" column uses it too).
  * One image (batch 1) at the model's native input size (224x224 for all of these), eval mode, so GoogLeNet's
    auxiliary classifiers (which only run in training mode) add parameters but no MACs.
"""
import argparse
import json
import os
import re
import warnings

import torch
import torchvision

warnings.filterwarnings("ignore")
torch.set_num_threads(2)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "zoo", "torchvision_counts.json")

M = torchvision.models
# convkit name -> constructor of the torchvision model with random weights and 1000 classes.
MODELS = {
    "alexnet": lambda: M.alexnet(),
    "vgg11": lambda: M.vgg11(),
    "vgg11_bn": lambda: M.vgg11_bn(),
    "vgg13": lambda: M.vgg13(),
    "vgg13_bn": lambda: M.vgg13_bn(),
    "vgg16": lambda: M.vgg16(),
    "vgg16_bn": lambda: M.vgg16_bn(),
    "vgg19": lambda: M.vgg19(),
    "vgg19_bn": lambda: M.vgg19_bn(),
    # torchvision's GoogLeNet defaults to aux_logits=True when built without weights; the pretrained
    # checkpoint is published without them. convkit: googlenet (no aux) and googlenet_aux.
    "googlenet": lambda: M.googlenet(aux_logits=False, init_weights=False),
    "googlenet_aux": lambda: M.googlenet(aux_logits=True, init_weights=False),
    "resnet18": lambda: M.resnet18(),
    "resnet34": lambda: M.resnet34(),
    "resnet50": lambda: M.resnet50(),
    "resnet101": lambda: M.resnet101(),
    "densenet121": lambda: M.densenet121(),
    "densenet169": lambda: M.densenet169(),
}


def count_macs(model, input_shape):
    total = 0

    def conv_hook(mod, inp, out):
        nonlocal total
        kh, kw = mod.kernel_size
        total += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def linear_hook(mod, inp, out):
        nonlocal total
        total += (out.numel() // mod.out_features) * mod.in_features * mod.out_features

    handles = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, *input_shape))
    for h in handles:
        h.remove()
    return total, list(out.shape)


def compact_json(doc):
    """JSON with one line per state-dict entry (readable diffs, a tenth of the size of indent=1)."""
    text = json.dumps(doc, indent=1)
    # Fold every list of plain numbers onto one line.
    return re.sub(r"\[\s*([-0-9,\s]*?)\s*\]", lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-macs", action="store_true", help="skip the forward passes that count MACs")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write the JSON fixture")
    args = parser.parse_args()

    results = {}
    print(f"{'model':<15} {'params':>14} {'MACs':>16} {'state-dict entries':>19}")
    for name, build in MODELS.items():
        torch.manual_seed(0)
        model = build()
        params = sum(p.numel() for p in model.parameters())
        sd = model.state_dict()
        entry = {
            "params": params,
            "stateDict": {k: list(v.shape) for k, v in sd.items()},
        }
        if not args.no_macs:
            macs, out_shape = count_macs(model, (3, 224, 224))
            entry["macs"] = macs
            entry["outputShape"] = out_shape
        results[name] = entry
        macs_text = f"{entry['macs']:,}" if "macs" in entry else "-"
        print(f"{name:<15} {params:>14,} {macs_text:>16} {len(sd):>19}")

    if not args.no_write:
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        doc = {
            "generator": "tools/torchvision_counts.py",
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "input": [1, 3, 224, 224],
            "macRule": "Conv2d: N*Cout*Hout*Wout*(Cin/groups)*kH*kW; Linear: N*in*out; all other layers 0",
            "models": results,
        }
        with open(OUT, "w") as f:
            f.write(compact_json(doc) + "\n")
        print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
