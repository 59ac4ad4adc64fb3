"""The PyTorch side of convkit's lab: the same protocol, on the same images, in an independent implementation.

Shared by tools/lab_{ablation,shuffle,pooling,depth}.py. The protocol (budgets, seeds, early-stopping rule,
normalization) and the exact images (the validation split's indices, the ablation's subsets, the pixel
permutation) come from convkit itself: `convkit lab protocol [--quick] --json FILE` (run here automatically when
--protocol is not given), so nothing is re-typed by hand. Results go to lab/pytorch/NAME.json with the metric
names convkit's report uses; `convkit lab report` sets them beside convkit's numbers.

Run with Debian's PyTorch: /usr/bin/python3 tools/lab_shuffle.py [--quick] [--protocol FILE] [--out DIR].
Initial weights and shuffle orders come from PyTorch's own generators (seeded with the same seed numbers), so
the two implementations agree up to seed noise, not bit for bit.
"""
import argparse
import re
import datetime
import gzip
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torch_weights import CifarResNet  # noqa: E402  (the twin of convkit's src/models/cifar_resnet.ts)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = "/usr/share/datasets/fashion-mnist"


# ---------------------------------------------------------------------------------------------- data and protocol

def read_idx(path):
    """An IDX file (optionally gzipped) as a numpy array (uint8 images [N, 28, 28] or labels [N])."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(data_dir=DATA_DIR):
    """Train and test images as float32 [N, 1, 28, 28] in [0, 1], labels as int64."""
    def find(stem):
        for name in (stem + ".gz", stem):
            p = os.path.join(data_dir, name)
            if os.path.exists(p):
                return p
        raise SystemExit(f"lab: {stem}(.gz) not found in {data_dir} (apt-get install dataset-fashion-mnist, or pass --data DIR)")

    def images(stem):
        return torch.from_numpy(read_idx(find(stem)).astype(np.float32) / 255.0).unsqueeze(1)

    def labels(stem):
        return torch.from_numpy(read_idx(find(stem)).astype(np.int64))

    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def load_protocol(args):
    """The protocol JSON: --protocol FILE, or exported now by convkit (`convkit lab protocol`)."""
    if args.protocol:
        with open(args.protocol) as f:
            return json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "protocol.json")
        cmd = ["node", "--import", "tsx", "src/cli/main.ts", "lab", "protocol", "--json", out, "--data", args.data]
        if args.scale != "full":
            cmd.append(f"--{args.scale}")
        if args.seeds is not None:
            cmd += ["--seeds", str(args.seeds)]
        subprocess.run(cmd, cwd=ROOT, check=True)
        with open(out) as f:
            return json.load(f)


class LabData:
    """The full training set, its validation split (convkit's indices) and the test set."""

    def __init__(self, protocol, data_dir):
        if protocol.get("format") != "convkit-lab-protocol/1":
            raise SystemExit(f"lab: unknown protocol format {protocol.get('format')!r} (expected convkit-lab-protocol/1)")
        self.train_x, self.train_y, self.test_x, self.test_y = load_fashion_mnist(data_dir)
        if protocol["dataset"]["trainImages"] != len(self.train_x):
            raise SystemExit(f"lab: the protocol was exported for {protocol['dataset']['trainImages']} training images, {data_dir} has {len(self.train_x)}")
        norm = protocol["normalization"]
        self.mean, self.std = norm["mean"], norm["std"]
        self.validation_indices = torch.tensor(protocol["validation"]["indices"], dtype=torch.long)
        # The checks score the first `checkedImages` of the validation part (all 5,000 at full scale).
        self.checked = protocol["validation"]["checkedImages"]
        in_validation = torch.zeros(len(self.train_x), dtype=torch.bool)
        in_validation[self.validation_indices] = True
        # The training part: every index not in validation, ascending (as convkit's splitValidationIndices).
        self.train_part = torch.nonzero(~in_validation).flatten()
        assert len(self.train_part) == protocol["trainPartImages"], "the training part's size differs from convkit's"

    def train_subset(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.train_x[idx], self.train_y[idx]

    def first_of_train_part(self, n):
        return self.train_subset(self.train_part[:n])

    def validation(self):
        """The validation images the early-stopping checks score."""
        return self.train_subset(self.validation_indices[:self.checked])

    def test(self, n):
        return self.test_x[:n], self.test_y[:n]


def normalize(x, mean, std):
    return (x - mean) / std


def translate(x, dy, dx):
    """out[y, x] = in[y - dy, x - dx], 0 (black) where that falls outside: convkit's translate(dy, dx)."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = x[..., ys, xs]
    return out


def permute_pixels(perm):
    """out[k] = in[perm[k]] over the flattened H*W positions: convkit's permutePixels."""
    p = torch.as_tensor(perm, dtype=torch.long)

    def apply(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h * w)[:, :, p].reshape(n, c, h, w)
    return apply


# ---------------------------------------------------------------------------------------------- models

class LocallyConnected2d(nn.Module):
    """convkit's LocallyConnected2d: weight [H_out*W_out, C_out, C_in, k, k], bias [C_out, H_out, W_out], U(+-1/sqrt(fan_in))."""

    def __init__(self, in_ch, out_ch, k, padding, input_size):
        super().__init__()
        h, w = input_size
        self.k, self.padding = k, padding
        self.out_size = (h + 2 * padding - k + 1, w + 2 * padding - k + 1)
        positions = self.out_size[0] * self.out_size[1]
        bound = 1.0 / math.sqrt(in_ch * k * k)
        self.weight = nn.Parameter(torch.empty(positions, out_ch, in_ch, k, k).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_ch, *self.out_size).uniform_(-bound, bound))

    def forward(self, x):
        cols = F.unfold(x, self.k, padding=self.padding)  # [N, C_in*k*k, L]
        w = self.weight.reshape(self.weight.shape[0], self.weight.shape[1], -1)  # [L, C_out, C_in*k*k]
        out = torch.einsum("nkl,lok->nol", cols, w)
        return out.reshape(x.shape[0], -1, *self.out_size) + self.bias


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def vggsmall():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 256), nn.ReLU(), nn.Linear(256, 10))


def lcnet():
    return nn.Sequential(
        LocallyConnected2d(1, 32, 3, 1, (28, 28)), nn.ReLU(), LocallyConnected2d(32, 32, 3, 1, (28, 28)), nn.ReLU(), nn.MaxPool2d(2),
        LocallyConnected2d(32, 64, 3, 1, (14, 14)), nn.ReLU(), LocallyConnected2d(64, 64, 3, 1, (14, 14)), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 256), nn.ReLU(), nn.Linear(256, 10))


def pooling_model(variant):
    """convkit's poolingModel (src/lab/experiments/pooling.ts)."""
    def down(c):
        if variant == "avgpool":
            return [nn.AvgPool2d(2)]
        if variant == "strided":
            return [nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU()]
        return [nn.MaxPool2d(2)]
    body = [nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), *down(32), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), *down(64)]
    if variant == "gap":
        head = [nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)]
    else:
        head = [nn.Flatten(), nn.Linear(64 * 7 * 7, 10)]
    return nn.Sequential(*body, *head)


def cifar_net(name):
    """resnet20/56 (option A shortcuts) and plain20/56 (none), 1 input channel; Kaiming-normal conv and linear weights as in convkit."""
    depth = int(name.lstrip("resnetplain"))
    net = CifarResNet(depth, "A" if name.startswith("resnet") else "none", num_classes=10, in_channels=1)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)
    return net


def build(name):
    if name.startswith("pooling:"):
        return pooling_model(name.split(":", 1)[1])
    if name.startswith("resnet") or name.startswith("plain"):
        return cifar_net(name)
    return {"mlp": mlp, "lenet5": lenet5, "vggsmall": vggsmall, "lcnet": lcnet}[name]()


def seeded_model(seed, name):
    torch.manual_seed(seed)
    return build(name)


# ---------------------------------------------------------------------------------------------- training

def learning_rate_at(opt, t, total):
    """convkit's learningRateAt (src/lab/train.ts): linear warm-up, then constant or a half cosine to 0."""
    w = opt.get("warmup")
    if w and t < w["steps"]:
        return opt["lr"] * (w["startFactor"] + (1 - w["startFactor"]) * t / w["steps"])
    if not opt.get("cosine"):
        return opt["lr"]
    start = w["steps"] if w else 0
    span = max(1, total - start)
    return opt["lr"] * 0.5 * (1 + math.cos(math.pi * min(t - start, span) / span))


def make_optimizer(model, opt):
    if opt["name"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=opt["lr"], weight_decay=opt.get("weightDecay", 0))
    return torch.optim.SGD(model.parameters(), lr=opt["lr"], momentum=opt.get("momentum", 0.9), weight_decay=opt.get("weightDecay", 0))


def predict(model, x, lab, transform=None, batch=500):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = x[i:i + batch]
            if transform is not None:
                xb = transform(xb)
            out.append(model(normalize(xb, lab.mean, lab.std)).argmax(1))
    model.train()
    return torch.cat(out)


def accuracy(model, x, y, lab, transform=None):
    return (predict(model, x, lab, transform) == y).float().mean().item()


def train_epochs(model, x, y, lab, budget, seed, validation=None, transform=None, loss_every=10, label="train"):
    """convkit's trainEpochs: at most budget.epochs passes (shuffled, last partial batch dropped), validation checks
    at least checkEveryImages apart, the most accurate weights on validation kept, early stopping after `patience`
    checks that do not beat the last improving check by more than minDelta. The test set is not an argument."""
    n = len(x)
    batch = min(budget["batchSize"], n)
    steps_per_epoch = n // batch
    total = budget["epochs"] * steps_per_epoch
    every = max(1, math.ceil(budget.get("checkEveryImages", 0) / n))
    es = budget.get("earlyStopping")
    opt = make_optimizer(model, budget["optimizer"])
    gen = torch.Generator().manual_seed(1000 + seed)
    curve, window, validation_curve = [], [], []
    best_acc, best_epoch, best_state, reference, since_improvement = -math.inf, 0, None, -math.inf, 0
    step, epochs_run, stopped_early = 0, 0, False
    t0 = last_log = time.time()
    model.train()
    for epoch in range(1, budget["epochs"] + 1):
        order = torch.randperm(n, generator=gen)
        for b in range(steps_per_epoch):
            idx = order[b * batch:(b + 1) * batch]
            xb = x[idx]
            if transform is not None:
                xb = transform(xb)
            lr = learning_rate_at(budget["optimizer"], step, total)
            for g in opt.param_groups:
                g["lr"] = lr
            loss = F.cross_entropy(model(normalize(xb, lab.mean, lab.std)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = loss.item()
            if not math.isfinite(value):
                raise SystemExit(f"lab: {label} diverged (loss {value} at step {step + 1})")
            step += 1
            window.append(value)
            if len(window) == loss_every or step == total:
                curve.append({"step": step, "loss": sum(window) / len(window)})
                window = []
            if time.time() - last_log > 15:
                last_log = time.time()
                print(f"  {label}: step {step}/{total}, loss {curve[-1]['loss'] if curve else value:.3f}, {step * batch / (time.time() - t0):.0f} img/s", file=sys.stderr)
        epochs_run = epoch
        if validation is None or (epoch % every != 0 and epoch != budget["epochs"]):
            continue
        acc = accuracy(model, validation[0], validation[1], lab, transform)
        validation_curve.append({"epoch": epoch, "step": step, "accuracy": acc})
        if best_state is None or acc > best_acc:
            best_acc, best_epoch = acc, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if acc > reference + (es.get("minDelta", 0) if es else 0):
            reference, since_improvement = acc, 0
        else:
            since_improvement += 1
        if es and since_improvement >= es["patience"]:
            stopped_early = epoch < budget["epochs"]
            break
    if window:
        curve.append({"step": step, "loss": sum(window) / len(window)})
    if best_state is not None:
        model.load_state_dict(best_state)
    return {
        "lossCurve": curve, "seconds": time.time() - t0, "epochsRun": epochs_run, "stoppedEarly": stopped_early,
        "bestEpoch": best_epoch if validation is not None else epochs_run,
        "bestValidationAccuracy": best_acc if validation is not None else None, "validationCurve": validation_curve,
    }


# ---------------------------------------------------------------------------------------------- command line and output

def parse_args(experiment, description, variants=()):
    """The scripts' common options; `variants`: other experiments the script can run instead (--experiment NAME)."""
    p = argparse.ArgumentParser(description=description)
    if variants:
        p.add_argument("--experiment", choices=[experiment, *variants], default=experiment, help=f"which experiment (default {experiment})")
    p.add_argument("--quick", dest="scale", action="store_const", const="quick", default="full", help="the lab's --quick protocol")
    p.add_argument("--smoke", dest="scale", action="store_const", const="smoke", help="the lab's --smoke protocol (seconds)")
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default: the experiment's)")
    p.add_argument("--protocol", help="a protocol JSON from `convkit lab protocol` (default: exported now)")
    p.add_argument("--data", default=DATA_DIR, help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--out", help="output folder (default lab/pytorch, or lab/pytorch/SCALE for --quick and --smoke)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's)")
    p.add_argument("--resume", action="store_true", help="load the finished training runs of an interrupted run (OUT/runs/EXPERIMENT/KEY.json, "
                   "kept by every run) that were made with the same protocol, instead of training them again")
    p.add_argument("--openblas", metavar="DIR", help="run with this OpenBLAS (e.g. DIR/usr/lib/x86_64-linux-gnu/openblas-openmp from "
                   "`apt-get download libopenblas0-openmp && dpkg-deb -x libopenblas0-openmp_*.deb DIR`): Debian's torch otherwise uses the reference BLAS, "
                   "several times slower for the MLP and lcnet")
    args = p.parse_args()
    if args.openblas:
        lib = os.path.abspath(args.openblas)
        if not os.path.exists(os.path.join(lib, "libblas.so.3")):
            raise SystemExit(f"lab: --openblas {args.openblas}: no libblas.so.3 there (expected the openblas-openmp folder of libopenblas0-openmp)")
        if lib not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
            env = {**os.environ, "LD_LIBRARY_PATH": lib + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else "")}
            os.execve(sys.executable, [sys.executable, *sys.argv], env)
    args.experiment = getattr(args, "experiment", None) or experiment
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model} ({os.cpu_count()} cores), load average at the end {load}"


def out_dir_of(args):
    return args.out or os.path.join(ROOT, "lab", "pytorch", *([] if args.scale == "full" else [args.scale]))


def write_result(args, metrics, seeds, runs, started, t0, extra=None):
    out_dir = out_dir_of(args)
    os.makedirs(out_dir, exist_ok=True)
    script = os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)
    flags = "" if args.scale == "full" else f" --{args.scale}"
    record = {
        "experiment": args.experiment, "scale": args.scale, "seeds": seeds, "metrics": metrics,
        "command": f"/usr/bin/python3 {script}{flags}" + (f" --experiment {args.experiment}" if getattr(args, "experiment", None) and args.experiment not in script else "") + (f" --seeds {args.seeds}" if args.seeds else "") + (" --openblas DIR" if args.openblas else ""),
        "torch": f"PyTorch {torch.__version__} CPU, {torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''}, {'OpenBLAS from ' + args.openblas if args.openblas else 'Debian default BLAS'}", "machine": machine(),
        "seconds": time.time() - t0, "startedAt": started, "runs": runs, **(extra or {}),
    }
    path = os.path.join(out_dir, f"{args.experiment}.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({record['seconds']:.0f} s)", file=sys.stderr)
    return path


def start():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"), time.time()


def same_run_under_other_cap(stored, wanted, epochs_run):
    """convkit's sameRunUnderOtherCap (src/lab/resume.ts): a run with early stopping and a learning rate that does
    not depend on the run's length, which stopped at epoch k before its cap, is the same run under every cap >= k."""
    try:
        a, b = stored["protocol"]["budget"], wanted["protocol"]["budget"]
        if not b.get("earlyStopping") or b["optimizer"].get("cosine"):
            return False
        if not isinstance(epochs_run, int) or not 1 <= epochs_run < a["epochs"] or epochs_run > b["epochs"]:
            return False
        moved = dict(stored, protocol=dict(stored["protocol"], budget=dict(a, epochs=b["epochs"])))
        return json.dumps(moved, sort_keys=True) == json.dumps(wanted, sort_keys=True)
    except (KeyError, TypeError, AttributeError):
        return False


class Run:
    """One script's run: its arguments, the protocol of its experiment, the data, and where results go."""

    def __init__(self, experiment, description, variants=()):
        self.args = parse_args(experiment, description, variants)
        self.started, self.t0 = start()
        protocol = load_protocol(self.args)
        self.data = LabData(protocol, self.args.data)
        self.p = protocol["experiments"][self.args.experiment]
        self.metrics, self.runs = {}, []

    def add(self, name, value):
        self.metrics.setdefault(name, []).append(value)

    def record(self, key, protocol, make, cap_free=False):
        """One training run: `make()` returns {"metrics": {name: value}, "run": {...}}; its metrics are added and
        its run listed. Every finished run is kept in OUT/runs/EXPERIMENT/KEY.json with its protocol; with
        --resume a kept run with the same protocol is loaded instead of trained again (as `convkit lab --resume`).
        `cap_free`: the protocol holds an early-stopping epoch budget as "budget" and the run reports "epochsRun",
        so a kept run that stopped early under another epoch cap is loaded too (convkit's sameRunUnderOtherCap)."""
        full = {"format": "convkit-lab-run/1", "experiment": self.args.experiment, "key": key, "protocol": protocol}
        path = os.path.join(out_dir_of(self.args), "runs", self.args.experiment, re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".json")
        stored = None
        if self.args.resume and os.path.exists(path):
            try:
                with open(path) as f:
                    kept = json.load(f)
                same = json.dumps(kept.get("protocol"), sort_keys=True) == json.dumps(full, sort_keys=True)
                if not same and cap_free:
                    same = same_run_under_other_cap(kept.get("protocol"), full, kept["result"]["run"].get("epochsRun"))
                if same:
                    stored = kept["result"]
                    print(f"  {key}: loaded the run made {kept.get('madeAt')} ({kept.get('machine')})", file=sys.stderr)
            except (OSError, ValueError, KeyError):
                stored = None
        if stored is None:
            stored = make()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"protocol": full, "madeAt": start()[0], "machine": machine(), "torch": torch.__version__, "result": stored}, f, indent=1)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        for name, value in stored["metrics"].items():
            self.add(name, value)
        self.runs.append(stored["run"])
        return stored["run"]

    def finish(self):
        return write_result(self.args, self.metrics, self.p["seeds"], self.runs, self.started, self.t0)
