#!/usr/bin/python3
"""The `convkit speedrun` recipes in PyTorch: wall time to a target test accuracy on Fashion-MNIST.

Runs the same recipe as `convkit speedrun --recipe NAME` on the same IDX files: the same model (its PyTorch source
comes from `convkit speedrun --print-recipe`, generated from convkit's own layers, so the architecture and the
state-dict keys are identical), optimizer, learning-rate schedule (stepped per batch, or per epoch for `step`),
augmentation (random 2-pixel-padded crop with zero fill, optionally a horizontal flip, then normalisation with the
training set's mean and std), batch size and seeds 0..N-1. Like convkit it trains on the whole training set,
evaluates the test set after each epoch only to read when the target is first reached, stops there, and counts
training time only (the wall time with the evaluations is reported beside it). It prints the same JSON.

Usage (Debian's PyTorch, CPU; never the pyenv python3):
    /usr/bin/python3 tools/torch_speedrun.py --recipe 91 [--seeds 3] [--first-seed 0] [--threads 2] [--json FILE]
        [--dataset fashion-mnist|fashion-mnist-subset] [--data DIR] [--target F] [--recipe-json FILE]
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

# OpenMP threads that sleep instead of spinning while they wait. On a shared 2-core machine (load 9-10) spinning made
# PyTorch with 2 threads 8x slower (LeNet-5, 2,000 images: 16.5 s an epoch spinning, 2.0 s passive, 0.9 s with
# 1 thread); on an idle machine the difference is small. An OMP_WAIT_POLICY set by the caller wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402  (after OMP_WAIT_POLICY, which OpenMP reads when it starts)
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIRS = {"fashion-mnist": "/usr/share/datasets/fashion-mnist", "fashion-mnist-subset": os.path.join(ROOT, "data", "fashion-mnist-subset")}


def read_idx(folder: str, name: str) -> np.ndarray:
    """An IDX file (plain or .gz) as a numpy array of its shape."""
    for path in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.exists(path):
            raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
            break
    else:
        raise SystemExit(f"torch_speedrun: no {name}[.gz] in {folder} (pass --data DIR with the Fashion-MNIST IDX files)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(folder: str, prefix: str):
    images = torch.from_numpy(read_idx(folder, f"{prefix}-images-idx3-ubyte").copy()).float().div_(255).unsqueeze(1)
    labels = torch.from_numpy(read_idx(folder, f"{prefix}-labels-idx1-ubyte").astype(np.int64))
    return images, labels


def recipe_from_convkit(name: str) -> dict:
    """The recipe and its model's PyTorch source, as convkit defines them (one definition for both sides)."""
    cmd = ["node", "--import", "tsx", os.path.join(ROOT, "src", "cli", "main.ts"), "speedrun", "--recipe", name, "--print-recipe"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"torch_speedrun: {' '.join(cmd)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def create_model(source: str) -> torch.nn.Module:
    namespace: dict = {"__name__": "convkit_speedrun_model"}
    exec(compile(source, "model.py (convkit speedrun --print-recipe)", "exec"), namespace)
    return namespace["create_model"]()


def make_optimizer(model, o: dict):
    if o["name"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=o["lr"], momentum=o["momentum"], weight_decay=o["weightDecay"])
    if o["name"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=o["lr"], weight_decay=o["weightDecay"])
    if o["name"] == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=o["lr"], weight_decay=o["weightDecay"])
    raise SystemExit(f"torch_speedrun: unknown optimizer {o['name']}")


def js_round(x: float) -> int:
    """JavaScript's Math.round (halves up), which convkit's step milestones use; Python's round() goes to even."""
    return math.floor(x + 0.5)


def make_scheduler(name: str, optimizer, lr: float, epochs: int, steps_per_epoch: int):
    """The schedule and when it steps, as src/train/setup.ts makeScheduler builds it."""
    if name == "none":
        return None, None
    if name == "step":
        milestones = sorted({max(1, js_round(epochs / 2)), max(1, js_round(3 * epochs / 4))})
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1), "epoch"
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch), "batch"
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch), "batch"
    raise SystemExit(f"torch_speedrun: unknown schedule {name}")


def augment(x: torch.Tensor, kind: str, gen: torch.Generator) -> torch.Tensor:
    """convkit's `crop` (pad 2 with zeros, random crop back to size) and `crop-flip` (+ horizontal flip, p 0.5)."""
    if kind == "none":
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (2, 2, 2, 2))
    offsets = torch.randint(0, 5, (n, 2), generator=gen)
    out = torch.empty_like(x)
    # One slice per distinct (dy, dx): 25 copies per batch instead of one per image.
    keys = offsets[:, 0] * 5 + offsets[:, 1]
    for key in keys.unique().tolist():
        dy, dx = divmod(key, 5)
        idx = (keys == key).nonzero(as_tuple=True)[0]
        out[idx] = padded[idx, :, dy:dy + h, dx:dx + w]
    if kind == "crop-flip":
        flip = torch.rand(n, generator=gen) < 0.5
        out[flip] = out[flip].flip(3)
    return out


def evaluate(model, images, labels, mean, std, batch) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            logits = model((images[i:i + batch] - mean) / std)
            correct += (logits.argmax(1) == labels[i:i + batch]).sum().item()
    model.train()
    return correct / len(labels)


def run_seed(recipe: dict, target: float, seed: int, train, test, log) -> dict:
    (x_train, y_train), (x_test, y_test) = train, test
    mean, std = x_train.mean().item(), x_train.std(unbiased=False).item()
    torch.manual_seed(seed)
    model = create_model(recipe["modelSource"])
    model.train()
    optimizer = make_optimizer(model, recipe["optimizer"])
    batch = recipe["batch"]
    steps_per_epoch = math.ceil(len(y_train) / batch)
    scheduler, interval = make_scheduler(recipe["schedule"], optimizer, recipe["optimizer"]["lr"], recipe["epochs"], steps_per_epoch)
    gen = torch.Generator().manual_seed(seed + 1)
    result = {"seed": seed, "reached": False, "epoch": None, "secondsToTarget": None, "wallSecondsToTarget": None, "epochs": []}
    train_seconds = 0.0
    first_step = time.perf_counter()
    for epoch in range(1, recipe["epochs"] + 1):
        start = time.perf_counter()
        order = torch.randperm(len(y_train), generator=gen)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            x = (augment(x_train[idx], recipe["augment"], gen) - mean) / std
            loss = F.cross_entropy(model(x), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if interval == "batch":
                scheduler.step()
        if interval == "epoch":
            scheduler.step()
        train_seconds += time.perf_counter() - start
        accuracy = evaluate(model, x_test, y_test, mean, std, max(batch, 256))
        result["epochs"].append({"epoch": epoch, "testAccuracy": accuracy, "trainSeconds": train_seconds})
        log(f"  seed {seed} epoch {epoch}: test {accuracy * 100:.2f} % after {train_seconds:.1f} s of training")
        if accuracy >= target:
            result.update(reached=True, epoch=epoch, secondsToTarget=train_seconds, wallSecondsToTarget=time.perf_counter() - first_step)
            break
    return result


def summarize(runs: list) -> dict:
    """As summarizeTimes in src/cli/commands/speedrun.ts: mean, sample sd, min, max of the seeds that reached it."""
    times = [r["secondsToTarget"] for r in runs if r["reached"]]
    if not times:
        return {"reached": 0, "of": len(runs), "meanSeconds": None, "sdSeconds": None, "minSeconds": None, "maxSeconds": None}
    mean = sum(times) / len(times)
    sd = math.sqrt(sum((t - mean) ** 2 for t in times) / (len(times) - 1)) if len(times) > 1 else 0.0
    return {"reached": len(times), "of": len(runs), "meanSeconds": mean, "sdSeconds": sd, "minSeconds": min(times), "maxSeconds": max(times)}


def machine_now() -> dict:
    model = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name:")), model)
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "loadAverage": [round(l, 2) for l in os.getloadavg()]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--recipe", default="91")
    p.add_argument("--recipe-json", help="a file written by convkit speedrun --print-recipe (default: ask convkit)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0, help="start at this seed (seeds K..K+N-1)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dataset", choices=sorted(DATA_DIRS), default="fashion-mnist")
    p.add_argument("--data", help="folder with the IDX files (default: Debian's for fashion-mnist, data/ for the subset)")
    p.add_argument("--target", type=float, help="override the recipe's target test accuracy (a fraction)")
    p.add_argument("--json", help="also write the JSON to this file")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    recipe = json.load(open(a.recipe_json)) if a.recipe_json else recipe_from_convkit(a.recipe)
    target = a.target if a.target is not None else recipe["target"]
    folder = a.data or DATA_DIRS[a.dataset]
    train, test = load_split(folder, "train"), load_split(folder, "t10k")
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    start = machine_now()
    backend = f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads (OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']})"
    log(f"speedrun {recipe['name']} (PyTorch): {target * 100:.1f}% on {a.dataset} ({folder}); {recipe['model']}; "
        f"{start['cpu']}, load average {' '.join(map(str, start['loadAverage']))}; {backend}")
    runs = [run_seed(recipe, target, seed, train, test, log) for seed in range(a.first_seed, a.first_seed + a.seeds)]
    end = machine_now()
    report = {
        "tool": "pytorch", "recipe": {k: v for k, v in recipe.items() if k != "modelSource"}, "target": target,
        "targetOverridden": target != recipe["target"], "backend": backend,
        "dataset": {"name": a.dataset, "source": folder, "train": len(train[1]), "test": len(test[1])},
        "machine": {"cpu": start["cpu"], "cpus": start["cpus"], "loadAverage": {"start": start["loadAverage"], "end": end["loadAverage"]}},
        "runs": runs, "summary": summarize(runs),
    }
    text = json.dumps(report, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
