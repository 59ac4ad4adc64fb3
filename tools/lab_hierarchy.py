"""Experiment 6 (a hierarchy of features) in PyTorch: the reference vggsmall trained with convkit's budget and early
stopping on its validation split (seed 0), then for each ReLU layer and its first channels the test images that
activate the channel most (one entry per image: its strongest position) and the share of them from the most
frequent class, as src/lab/experiments/hierarchy.ts measures it; writes lab/pytorch/hierarchy.json.

/usr/bin/python3 tools/lab_hierarchy.py [--quick] [--protocol FILE]   (see tools/lab_common.py)
"""
import collections
import sys

import torch
import torch.nn as nn

import lab_common as lab


def main():
    run = lab.Run("hierarchy", __doc__)
    data, p = run.data, run.p
    x, y = data.first_of_train_part(p["trainImages"])
    model = lab.seeded_model(0, p["model"])
    o = lab.train_epochs(model, x, y, data, p["budget"], 0, validation=data.validation(), label=p["model"])
    model.eval()
    relus = [i for i, m in enumerate(model) if isinstance(m, nn.ReLU) and i < 10]  # the spatial ReLUs: features.1, .3, .6, .8
    search_x, search_y = data.test(p["searchImages"])
    with torch.no_grad():
        h = lab.normalize(search_x, data.mean, data.std)
        peaks = {}
        for i, m in enumerate(model[:10]):
            h = m(h)
            if i in relus:
                peaks[i] = h[:, :p["channelsPerLayer"]].flatten(2).max(2).values  # [images, channels]: each image's strongest position
    layers = []
    for i in relus:
        purities = []
        for ch in range(peaks[i].shape[1]):
            # A stable sort by value, highest first (ties keep image order, as convkit's Array.sort does).
            order = sorted(range(len(search_y)), key=lambda k: -peaks[i][k, ch].item())[:p["topImages"]]
            counts = collections.Counter(search_y[order].tolist())
            purities.append(counts.most_common(1)[0][1] / len(order))
        mean = sum(purities) / len(purities)
        run.add(f"vggsmall features.{i} purity", mean)
        layers.append({"layer": f"features.{i}", "meanPurity": mean, "channels": purities})
        print(f"  features.{i}: mean purity {mean:.3f}", file=sys.stderr)
    run.runs.append({"model": p["model"], "layers": layers, **{k: o[k] for k in ("bestValidationAccuracy", "bestEpoch", "epochsRun", "seconds")}})
    run.finish()


if __name__ == "__main__":
    main()
