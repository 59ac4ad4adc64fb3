"""Experiment 7 (depth and skip connections) in PyTorch: plain20, plain56, resnet20 and resnet56 trained on convkit's
training part with the same fixed budget (SGD, warm-up, cosine decay; no early stopping: the claim is about training
loss), the training loss per window of steps; writes lab/pytorch/depth.json (--experiment depth-adam: the Adam variant).

/usr/bin/python3 tools/lab_depth.py [--quick] [--protocol FILE] [--experiment depth-adam]   (see tools/lab_common.py)
"""
import sys

import lab_common as lab


def main():
    experiment = "depth-adam" if "--experiment" in sys.argv and sys.argv[sys.argv.index("--experiment") + 1] == "depth-adam" else "depth"
    if "--experiment" in sys.argv:
        i = sys.argv.index("--experiment")
        del sys.argv[i:i + 2]
    args = lab.parse_args(experiment, __doc__)
    started, t0 = lab.start()
    protocol = lab.load_protocol(args)
    data = lab.LabData(protocol, args.data)
    p = protocol["experiments"][experiment]
    x, y = data.first_of_train_part(p["trainImages"])
    test_x, test_y = data.test(p["testImages"])
    metrics, runs = {}, []
    for seed in p["seeds"]:
        for name in p["models"]:
            model = lab.seeded_model(seed, name)
            o = lab.train_epochs(model, x, y, data, p["budget"], seed, loss_every=p["lossEvery"], label=f"{name} seed={seed}")
            curve = o["lossCurve"]
            tail = curve[-max(1, int(len(curve) * p["lastFraction"])):]
            last = sum(c["loss"] for c in tail) / len(tail)
            test = lab.accuracy(model, test_x, test_y, data)
            metrics.setdefault(f"{name} loss", []).append(last)
            metrics.setdefault(f"{name} test", []).append(test)
            runs.append({"model": name, "seed": seed, "curve": curve, "lastLoss": last, "peakLoss": max(c["loss"] for c in curve), "testAccuracy": test, "seconds": o["seconds"]})
            print(f"  {name} seed={seed}: final training loss {last:.3f}, test {test:.4f} ({o['seconds']:.0f} s)", file=sys.stderr)
    lab.write_result(args, metrics, p["seeds"], runs, started, t0)


if __name__ == "__main__":
    main()
