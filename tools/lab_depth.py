"""Experiment 7 (depth and skip connections) in PyTorch: plain20, plain56, resnet20 and resnet56 trained on convkit's
training part with the same fixed budget (SGD, warm-up, cosine decay; no early stopping: the claim is about training
loss), the training loss per window of steps; writes lab/pytorch/depth.json (--experiment depth-adam: the Adam variant).

/usr/bin/python3 tools/lab_depth.py [--quick] [--protocol FILE] [--experiment depth-adam]   (see tools/lab_common.py)
"""
import sys

import lab_common as lab


def main():
    run = lab.Run("depth", __doc__, variants=("depth-adam",))
    data, p = run.data, run.p
    x, y = data.first_of_train_part(p["trainImages"])
    test_x, test_y = data.test(p["testImages"])
    for seed in p["seeds"]:
        for name in p["models"]:
            def make(name=name, seed=seed):
                model = lab.seeded_model(seed, name)
                o = lab.train_epochs(model, x, y, data, p["budget"], seed, loss_every=p["lossEvery"], label=f"{name} seed={seed}")
                curve = o["lossCurve"]
                tail = curve[-max(1, int(len(curve) * p["lastFraction"])):]
                last = sum(c["loss"] for c in tail) / len(tail)
                test = lab.accuracy(model, test_x, test_y, data)
                r = {"model": name, "seed": seed, "curve": curve, "lastLoss": last, "peakLoss": max(c["loss"] for c in curve), "testAccuracy": test, "seconds": o["seconds"]}
                return {"metrics": {f"{name} loss": last, f"{name} test": test}, "run": r}
            protocol = {"model": name, "seed": seed, "budget": p["budget"], "trainImages": p["trainImages"], "lossEvery": p["lossEvery"], "testImages": p["testImages"], "lastFraction": p["lastFraction"]}
            r = run.record(f"{name}-seed{seed}", protocol, make)
            print(f"  {name} seed={seed}: final training loss {r['lastLoss']:.3f}, test {r['testAccuracy']:.4f} ({r['seconds']:.0f} s)", file=sys.stderr)
    run.finish()


if __name__ == "__main__":
    main()
