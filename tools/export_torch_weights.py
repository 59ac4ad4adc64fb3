#!/usr/bin/python3
"""Export a PyTorch model's state dict as safetensors, for convkit's zoo (`loadWeights` in src/models/weights.ts).

Run with Debian's PyTorch (python3-torch / python3-torchvision 1.13, CPU); needs no `safetensors` package:

    # a torchvision model (random weights unless --weights names a saved state dict / torchvision checkpoint)
    /usr/bin/python3 tools/export_torch_weights.py --torchvision resnet18 -o resnet18.safetensors
    /usr/bin/python3 tools/export_torch_weights.py --torchvision resnet50 --weights ~/resnet50-0676ba61.pth -o r50.safetensors

    # your own model: a Python file and a function (or class) that builds it, optionally with a state dict
    /usr/bin/python3 tools/export_torch_weights.py --module my_net.py:Net --weights net.pt -o net.safetensors

    # a saved state dict alone (keys are written as they are)
    /usr/bin/python3 tools/export_torch_weights.py --state-dict net.pt -o net.safetensors

    # convkit's small zoo models, defined here in PyTorch (the twin of src/models/cifar_resnet.ts and
    # src/models/reference.ts), e.g. to train in PyTorch and load in convkit
    /usr/bin/python3 tools/export_torch_weights.py --convkit resnet20 --in-channels 3 -o resnet20.safetensors

    # the committed test fixture: weights plus an input and PyTorch's logits (see --fixture below)
    /usr/bin/python3 tools/export_torch_weights.py --fixture

Then in convkit:  `loadWeights(models.create('resnet18'), bytes)`; a mismatch lists every missing,
unexpected and mis-shaped key with both shapes.

The file holds every entry of `model.state_dict()` under its own key: float tensors as F32 (F16/BF16/F64
are converted), integer buffers (BatchNorm's `num_batches_tracked`) as I64. `__metadata__` records the source.
DataParallel's `module.` prefix is stripped. torchvision DenseNet checkpoints from the model zoo use old keys
(`norm.1`); pass them through the model (--torchvision densenet121 --weights file) so torchvision renames them.
"""
import argparse
import importlib.util
import json
import os
import re
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------------------- safetensors writer

def write_safetensors(path, tensors, metadata=None):
    """tensors: ordered dict name -> torch.Tensor. F32 for floating point, I64 for integers, BOOL for bool."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.is_floating_point():
            t, dtype = t.to(torch.float32), "F32"
        elif t.dtype == torch.bool:
            dtype = "BOOL"
        else:
            t, dtype = t.to(torch.int64), "I64"
        data = t.numpy().tobytes()  # little-endian on every platform PyTorch runs on here
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # align the data section to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ------------------------------------------------------------------------- convkit's small models in PyTorch

class LambdaShortcutA(nn.Module):
    """Option A (He et al. 2015): subsample x[:, :, ::2, ::2] and zero-pad planes//4 channels on each side."""

    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)


class CifarBasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride, option):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.option = option
        self.shortcut = nn.Sequential()
        if option != "none" and (stride != 1 or in_planes != planes):
            if option == "A":
                self.shortcut = LambdaShortcutA(planes)
            else:
                self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.option != "none":
            out = out + self.shortcut(x)
        return F.relu(out)


class CifarResNet(nn.Module):
    """akamaster/pytorch_resnet_cifar10's ResNet: the twin of convkit's src/models/cifar_resnet.ts."""

    def __init__(self, depth, option="A", num_classes=10, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        planes = 16
        for i, (width, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
            blocks = []
            for j in range(n):
                blocks.append(CifarBasicBlock(planes, width, stride if j == 0 else 1, option))
                planes = width
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


class LeNet5(nn.Module):
    """The twin of convkit's lenet5 (src/models/reference.ts) for 28x28 input."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def convkit_model(name, num_classes, in_channels):
    m = re.fullmatch(r"(resnet|plain)(\d+)(b?)", name)
    if m:
        option = "none" if m.group(1) == "plain" else ("B" if m.group(3) else "A")
        return CifarResNet(int(m.group(2)), option, num_classes, in_channels)
    if name == "lenet5":
        return LeNet5(num_classes, in_channels)
    raise SystemExit(f"--convkit: no PyTorch twin for '{name}' here (have resnetN, resnetNb, plainN, lenet5)")


# --------------------------------------------------------------------------------------------- helpers

def load_state_dict_file(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: expected a state dict (or a checkpoint holding one), got {type(obj).__name__}")
    return {re.sub(r"^module\.", "", k): v for k, v in obj.items() if torch.is_tensor(v)}


def build_from_module(spec):
    if ":" not in spec:
        raise SystemExit("--module expects path/to/file.py:factory")
    path, factory = spec.rsplit(":", 1)
    spec_obj = importlib.util.spec_from_file_location("user_model", path)
    mod = importlib.util.module_from_spec(spec_obj)
    spec_obj.loader.exec_module(mod)
    return getattr(mod, factory)()


def randomize_batchnorm(model, gen):
    """Give BatchNorm layers non-trivial statistics and affine parameters, so an eval-mode fixture tests them."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.num_batches_tracked.fill_(7)


def make_fixture():
    """test/fixtures/zoo/{resnet20,lenet5}.safetensors (weights) and *_io.safetensors (input, logits)."""
    out_dir = os.path.join(ROOT, "test", "fixtures", "zoo")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for name, model_fn, shape in [
        ("resnet20", lambda: CifarResNet(20, "A", 10, 3), (4, 3, 32, 32)),
        ("resnet20b", lambda: CifarResNet(20, "B", 10, 3), (2, 3, 32, 32)),
        ("lenet5", lambda: LeNet5(10, 1), (4, 1, 28, 28)),
    ]:
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(1)
        model = model_fn()
        randomize_batchnorm(model, gen)
        model.eval()
        # Images with different contrast and brightness, so their logits differ clearly after global pooling.
        scale = torch.linspace(0.5, 2.0, shape[0]).view(-1, 1, 1, 1)
        shift = torch.linspace(-1.0, 1.0, shape[0]).view(-1, 1, 1, 1)
        x = torch.randn(*shape, generator=gen) * scale + shift
        with torch.no_grad():
            logits = model(x)
        meta = {"source": f"tools/export_torch_weights.py --fixture ({name})", "torch": torch.__version__}
        write_safetensors(os.path.join(out_dir, f"{name}.safetensors"), model.state_dict(), meta)
        write_safetensors(os.path.join(out_dir, f"{name}_io.safetensors"), {"input": x, "logits": logits}, meta)
        params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {params:,} parameters, input {list(x.shape)}, logits {list(logits.shape)} -> test/fixtures/zoo/{name}*.safetensors")


def main():
    p = argparse.ArgumentParser(description="Export a PyTorch state dict as safetensors for convkit.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--torchvision", metavar="NAME", help="a torchvision.models builder, e.g. resnet18, vgg16_bn, googlenet")
    src.add_argument("--module", metavar="FILE.py:FACTORY", help="a Python file and the function/class that builds your model")
    src.add_argument("--state-dict", metavar="FILE", help="a saved state dict (torch.save(model.state_dict()))")
    src.add_argument("--convkit", metavar="NAME", help="convkit's small models in PyTorch: resnet20, resnet56b, plain20, lenet5, ...")
    src.add_argument("--fixture", action="store_true", help="write convkit's committed test fixtures (test/fixtures/zoo)")
    p.add_argument("--weights", metavar="FILE", help="load this state dict / checkpoint into the model before exporting")
    p.add_argument("--num-classes", type=int, default=None, help="classes (default: 1000 for torchvision, 10 for --convkit)")
    p.add_argument("--in-channels", type=int, default=None, help="input channels for --convkit models (default 3; lenet5 1)")
    p.add_argument("--aux-logits", action="store_true", help="googlenet: keep the auxiliary classifiers (convkit: googlenet_aux)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", help="the .safetensors file to write")
    args = p.parse_args()

    if args.fixture:
        make_fixture()
        return
    if not args.output:
        p.error("-o/--output is required")
    torch.manual_seed(args.seed)
    if args.state_dict:
        sd = load_state_dict_file(args.state_dict)
        source = args.state_dict
    else:
        if args.torchvision:
            import torchvision
            builder = getattr(torchvision.models, args.torchvision, None)
            if builder is None:
                raise SystemExit(f"torchvision.models has no '{args.torchvision}'")
            kwargs = {"num_classes": args.num_classes or 1000}
            if args.torchvision == "googlenet":
                kwargs.update(aux_logits=args.aux_logits, init_weights=False)
            model = builder(**kwargs)
            source = f"torchvision.models.{args.torchvision}"
        elif args.module:
            model = build_from_module(args.module)
            source = args.module
        else:
            default_in = 1 if args.convkit == "lenet5" else 3
            model = convkit_model(args.convkit, args.num_classes or 10, args.in_channels or default_in)
            source = f"convkit twin {args.convkit}"
        if args.weights:
            loaded = load_state_dict_file(args.weights)
            if args.torchvision == "googlenet" and not args.aux_logits:
                loaded = {k: v for k, v in loaded.items() if not k.startswith("aux")}
            if args.torchvision and args.torchvision.startswith("densenet"):
                # torchvision's own fix-up for the old 'norm.1' style keys of its published checkpoints
                pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")
                loaded = {(pattern.sub(lambda m: m.group(1) + m.group(2), k)): v for k, v in loaded.items()}
            model.load_state_dict(loaded)
            source += f" + {args.weights}"
        sd = model.state_dict()
    write_safetensors(args.output, sd, {"source": source, "torch": torch.__version__})
    n = sum(v.numel() for v in sd.values())
    print(f"wrote {args.output}: {len(sd)} tensors, {n:,} values ({source})")


if __name__ == "__main__":
    main()
