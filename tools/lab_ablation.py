"""Experiment 3 (locality and weight sharing) in PyTorch: mlp, lcnet and vggsmall trained on convkit's subsets of the
training part (1k, 5k, 20k, all) with its early stopping on its validation split, 3 seeds; writes lab/pytorch/ablation.json.

/usr/bin/python3 tools/lab_ablation.py [--quick] [--protocol FILE]   (see tools/lab_common.py)
"""
import hashlib
import json
import sys

import lab_common as lab


def main():
    run = lab.Run("ablation", __doc__)
    data, p = run.data, run.p
    validation = data.validation()
    test_x, test_y = data.test(p["testImages"])
    for size in p["sizes"]:
        n, epochs = size["images"], size["epochs"]
        for k, seed in enumerate(p["seeds"]):
            subset = p["subsets"].get(str(n))
            x, y = data.train_subset(subset[k]) if subset is not None else data.first_of_train_part(n)
            for name in p["models"]:
                def make(name=name, x=x, y=y, n=n, epochs=epochs, seed=seed):
                    model = lab.seeded_model(seed, name)
                    o = lab.train_epochs(model, x, y, data, {**p["budget"], "epochs": epochs}, seed, validation=validation, label=f"{name} n={n} seed={seed}")
                    test = lab.accuracy(model, test_x, test_y, data)
                    train = lab.accuracy(model, x[:p["trainEvalImages"]], y[:p["trainEvalImages"]], data)
                    r = {"model": name, "size": n, "seed": seed, "testAccuracy": test, "trainAccuracy": train, **{k2: o[k2] for k2 in ("bestValidationAccuracy", "bestEpoch", "epochsRun", "stoppedEarly", "seconds")}}
                    return {"metrics": {f"{name} {n} test": test, f"{name} {n} train": train}, "run": r}
                protocol = {"model": name, "size": n, "epochs": epochs, "seed": seed, "budget": p["budget"], "testImages": p["testImages"], "trainEvalImages": p["trainEvalImages"], "subset": (hashlib.sha1(json.dumps(subset[k]).encode()).hexdigest() if subset is not None else None)}
                r = run.record(f"{name}-{n}-seed{seed}", protocol, make)
                print(f"  {name} n={n} seed={seed}: test {r['testAccuracy']:.4f}, validation {r['bestValidationAccuracy']:.4f}, best epoch {r['bestEpoch']} of {r['epochsRun']} ({r['seconds']:.0f} s)", file=sys.stderr)
    run.finish()


if __name__ == "__main__":
    main()
