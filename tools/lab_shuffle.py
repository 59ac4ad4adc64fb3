"""Experiment 4 (pixel shuffle) in PyTorch: mlp and lenet5 on original and permuted pixels (convkit's permutation, applied
to training, validation and test images alike), early stopping on convkit's validation split; writes lab/pytorch/shuffle.json.

/usr/bin/python3 tools/lab_shuffle.py [--quick] [--protocol FILE]   (see tools/lab_common.py)
"""
import sys

import lab_common as lab


def main():
    run = lab.Run("shuffle", __doc__)
    data, p = run.data, run.p
    x, y = data.first_of_train_part(p["trainImages"])
    validation = data.validation()
    test_x, test_y = data.test(p["testImages"])
    shuffle = lab.permute_pixels(p["permutation"])
    for seed in p["seeds"]:
        for name in p["models"]:
            for shuffled in (False, True):
                def make(name=name, shuffled=shuffled, seed=seed):
                    t = shuffle if shuffled else None
                    model = lab.seeded_model(seed, name)
                    o = lab.train_epochs(model, x, y, data, p["budget"], seed, validation=validation, transform=t, label=f"{name}{' shuffled' if shuffled else ''} seed={seed}")
                    test = lab.accuracy(model, test_x, test_y, data, t)
                    r = {"model": name, "shuffled": shuffled, "seed": seed, "testAccuracy": test, **{k: o[k] for k in ("bestValidationAccuracy", "bestEpoch", "epochsRun", "seconds")}}
                    return {"metrics": {f"{name} {'shuffled' if shuffled else 'original'}": test}, "run": r}
                protocol = {"model": name, "shuffled": shuffled, "seed": seed, "permutationSeed": p["permutationSeed"], "budget": p["budget"], "trainImages": p["trainImages"], "testImages": p["testImages"]}
                r = run.record(f"{name}-{'shuffled' if shuffled else 'original'}-seed{seed}", protocol, make)
                print(f"  {name}{' (shuffled pixels)' if shuffled else ''} seed={seed}: test {r['testAccuracy']:.4f}, best epoch {r['bestEpoch']} of {r['epochsRun']} ({r['seconds']:.0f} s)", file=sys.stderr)
    run.finish()


if __name__ == "__main__":
    main()
