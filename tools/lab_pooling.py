"""Experiment 5 (pooling: robustness, not invariance) in PyTorch: four downsampling variants trained alike with early
stopping on convkit's validation split, then test images shifted 0..maxShift px in 8 directions (black fill);
accuracy and consistency with the unshifted prediction; writes lab/pytorch/pooling.json.

/usr/bin/python3 tools/lab_pooling.py [--quick] [--protocol FILE]   (see tools/lab_common.py)
"""
import sys

import lab_common as lab


def main():
    run = lab.Run("pooling", __doc__)
    data, p, metrics = run.data, run.p, run.metrics
    x, y = data.first_of_train_part(p["trainImages"])
    validation = data.validation()
    test_x, test_y = data.test(p["testImages"])
    for seed in p["seeds"]:
        for variant in p["variants"]:
            def make(variant=variant, seed=seed):
                model = lab.seeded_model(seed, f"pooling:{variant}")
                o = lab.train_epochs(model, x, y, data, p["budget"], seed, validation=validation, label=f"{variant} seed={seed}")
                base = lab.predict(model, test_x, data)
                m = {}
                for k in range(p["maxShift"] + 1):
                    acc, cons = [], []
                    for d in ([{"dy": 0, "dx": 0}] if k == 0 else p["directions"]):
                        pred = base if k == 0 else lab.predict(model, test_x, data, lambda b, d=d: lab.translate(b, d["dy"] * k, d["dx"] * k))
                        acc.append((pred == test_y).float().mean().item())
                        cons.append((pred == base).float().mean().item())
                    m[f"{variant} accuracy {k}px"] = sum(acc) / len(acc)
                    m[f"{variant} consistency {k}px"] = sum(cons) / len(cons)
                    m[f"{variant} worst consistency {k}px"] = min(cons)
                return {"metrics": m, "run": {"variant": variant, "seed": seed, **{k2: o[k2] for k2 in ("bestValidationAccuracy", "bestEpoch", "epochsRun", "seconds")}}}
            protocol = {"variant": variant, "seed": seed, "budget": p["budget"], "trainImages": p["trainImages"], "testImages": p["testImages"], "maxShift": p["maxShift"], "directions": p["directions"]}
            run.record(f"{variant}-seed{seed}", protocol, make, cap_free=True)
            top = p["maxShift"]
            print(f"  {variant} seed={seed}: accuracy {metrics[variant + ' accuracy 0px'][-1]:.4f}, consistency at {top} px {metrics[f'{variant} consistency {top}px'][-1]:.4f}", file=sys.stderr)
    run.finish()


if __name__ == "__main__":
    main()
