#!/usr/bin/python3
"""PyTorch reference fixtures for convkit's optimizers and schedulers.

Run with Debian's PyTorch:  /usr/bin/python3 tools/gen_optim_fixtures.py
Writes into test/fixtures/optim/:
  fmnist16.bin         16 real Fashion-MNIST training images: 16 label bytes, then 16*28*28 pixel bytes (row-major)
  trajectories.json    for each optimizer run: settings, the loss at each of 20 steps, the lr used at each step,
                       and where the initial and final tensors sit in trajectories.bin
  trajectories.bin     float32 little-endian tensors (input batch, initial weights, final weights per run)
  schedulers.json      lr (and momentum / beta1) sequences of each scheduler, step by step

The model is a small CNN, conv(1->4, 3x3, pad 1, no bias) - BatchNorm2d(4) - ReLU - MaxPool2d(2) - Linear(784, 10),
named like convkit's (features.0, features.1, classifier), trained in train() mode with cross-entropy on the 16 images.
The initial weights are drawn in float32; the PyTorch runs are then done in float64 so the reference carries no
float32 rounding noise of its own (PyTorch's float32 conv-weight gradient here differs from the float64 one by ~2e-5
relative, which 20 steps of training amplify past 1e-4); the stored results are rounded to float32.
"""
import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'optim')
DATA = '/usr/share/datasets/fashion-mnist'
STEPS = 20


def read_fmnist16():
    with gzip.open(os.path.join(DATA, 'train-images-idx3-ubyte.gz'), 'rb') as f:
        magic, n, h, w = struct.unpack('>IIII', f.read(16))
        assert magic == 2051 and h == 28 and w == 28
        pixels = np.frombuffer(f.read(16 * 28 * 28), dtype=np.uint8).reshape(16, 28, 28)
    with gzip.open(os.path.join(DATA, 'train-labels-idx1-ubyte.gz'), 'rb') as f:
        magic, n = struct.unpack('>II', f.read(8))
        assert magic == 2049
        labels = np.frombuffer(f.read(16), dtype=np.uint8)
    return pixels, labels


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(4 * 14 * 14, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BinWriter:
    def __init__(self):
        self.chunks = []
        self.offset = 0  # in float32 elements

    def add(self, t):
        a = t.detach().to(torch.float32).contiguous().numpy().astype('<f4').ravel()
        entry = {'shape': list(t.shape), 'offset': self.offset}
        self.chunks.append(a.tobytes())
        self.offset += a.size
        return entry

    def state(self, sd):
        return {k: self.add(v) for k, v in sd.items()}


RUNS = [
    {
        'name': 'sgd_nesterov_steplr',
        'optimizer': 'SGD', 'options': {'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weightDecay': 5e-4},
        'scheduler': 'StepLR', 'schedulerOptions': {'stepSize': 5, 'gamma': 0.5},
        'make': lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
        'sched': lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.5),
    },
    {
        'name': 'adam_cosine',
        'optimizer': 'Adam', 'options': {'lr': 0.01, 'weightDecay': 1e-4},
        'scheduler': 'CosineAnnealingLR', 'schedulerOptions': {'tMax': STEPS, 'etaMin': 0.001},
        'make': lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-4, foreach=False),
        'sched': lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS, eta_min=0.001),
    },
    {
        'name': 'adamw_onecycle',
        'optimizer': 'AdamW', 'options': {'lr': 0.01, 'weightDecay': 0.05},
        'scheduler': 'OneCycleLR', 'schedulerOptions': {'maxLr': 0.004, 'totalSteps': STEPS},
        'make': lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05, foreach=False),
        'sched': lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.004, total_steps=STEPS),
    },
    {
        'name': 'adam_amsgrad_multistep',
        'optimizer': 'Adam', 'options': {'lr': 0.002, 'amsgrad': True, 'betas': [0.8, 0.99]},
        'scheduler': 'MultiStepLR', 'schedulerOptions': {'milestones': [4, 12], 'gamma': 0.3},
        'make': lambda p: torch.optim.Adam(p, lr=0.002, amsgrad=True, betas=(0.8, 0.99), foreach=False),
        'sched': lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[4, 12], gamma=0.3),
    },
]


def trajectories(pixels, labels):
    x = torch.from_numpy(pixels.astype(np.float32)).reshape(16, 1, 28, 28) / 255.0
    x = (x - 0.2860) / 0.3530
    y = torch.from_numpy(labels.astype(np.int64))
    torch.manual_seed(1234)
    init = SmallCNN().state_dict()  # float32 draws, exactly representable in float64
    xd = x.double()
    w = BinWriter()
    meta = {'steps': STEPS, 'input': w.add(x), 'labels': labels.tolist(), 'initial': w.state(init), 'runs': []}
    for run in RUNS:
        model = SmallCNN().double()
        model.load_state_dict(init)
        model.train()
        opt = run['make'](model.parameters())
        sched = run['sched'](opt)
        losses, lrs = [], []
        for _ in range(STEPS):
            lrs.append(opt.param_groups[0]['lr'])
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xd), y)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        meta['runs'].append({
            'name': run['name'], 'optimizer': run['optimizer'], 'options': run['options'],
            'scheduler': run['scheduler'], 'schedulerOptions': run['schedulerOptions'],
            'losses': losses, 'lrs': lrs, 'final': w.state(model.state_dict()),
        })
    with open(os.path.join(OUT, 'trajectories.bin'), 'wb') as f:
        f.write(b''.join(w.chunks))
    with open(os.path.join(OUT, 'trajectories.json'), 'w') as f:
        json.dump(meta, f, indent=1)


def scheduler_sequences():
    """Each case: build an optimizer over one dummy parameter, attach the scheduler, record after construction and each step."""
    def p():
        return [torch.nn.Parameter(torch.zeros(1))]

    def sgd(lr=0.1, momentum=0.9):
        return torch.optim.SGD(p(), lr=lr, momentum=momentum)

    def sgd2():
        a, b = p(), p()
        return torch.optim.SGD([{'params': a}, {'params': b, 'lr': 0.01}], lr=0.1, momentum=0.9)

    def adam():
        return torch.optim.Adam(p(), lr=0.1)

    S = torch.optim.lr_scheduler
    cases = [
        ('StepLR', {'stepSize': 3, 'gamma': 0.5}, 'sgd', sgd, lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12),
        ('MultiStepLR', {'milestones': [2, 5, 5, 9], 'gamma': 0.1}, 'sgd', sgd, lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.1), 12),
        ('CosineAnnealingLR', {'tMax': 10, 'etaMin': 0.001}, 'sgd', sgd, lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 25),
        ('CosineAnnealingLR', {'tMax': 6}, 'sgd2', sgd2, lambda o: S.CosineAnnealingLR(o, T_max=6), 8),
        ('LinearLR', {'startFactor': 0.25, 'totalIters': 4}, 'sgd', sgd, lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4), 8),
        ('LinearLR', {}, 'sgd', sgd, lambda o: S.LinearLR(o), 8),
        ('OneCycleLR', {'maxLr': 0.5, 'totalSteps': 20}, 'sgd', sgd, lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=20), 20),
        ('OneCycleLR', {'maxLr': 0.01, 'epochs': 3, 'stepsPerEpoch': 5, 'threePhase': True, 'annealStrategy': 'linear'}, 'adam', adam,
         lambda o: S.OneCycleLR(o, max_lr=0.01, epochs=3, steps_per_epoch=5, three_phase=True, anneal_strategy='linear'), 15),
        ('OneCycleLR', {'maxLr': 0.3, 'totalSteps': 10, 'pctStart': 0.25, 'divFactor': 10, 'finalDivFactor': 100, 'cycleMomentum': False}, 'sgd', sgd,
         lambda o: S.OneCycleLR(o, max_lr=0.3, total_steps=10, pct_start=0.25, div_factor=10, final_div_factor=100, cycle_momentum=False), 10),
    ]
    out = []
    for name, options, opt_name, make_opt, make_sched, steps in cases:
        opt = make_opt()
        sched = make_sched(opt)
        lrs, moms = [], []

        def record():
            lrs.append(list(sched.get_last_lr()))
            g = opt.param_groups[0]
            moms.append(g['betas'][0] if 'betas' in g else g['momentum'])
        record()
        for _ in range(steps):
            opt.step()
            sched.step()
            record()
        out.append({'scheduler': name, 'options': options, 'optimizer': opt_name, 'lrs': lrs, 'momentum': moms})

    # SequentialLR: linear warm-up then cosine annealing
    opt = sgd()
    warm = S.LinearLR(opt, start_factor=0.1, total_iters=3)
    cos = S.CosineAnnealingLR(opt, T_max=7, eta_min=0.0)
    seq = S.SequentialLR(opt, [warm, cos], milestones=[3])
    lrs, moms = [list(seq.get_last_lr())], [opt.param_groups[0]['momentum']]
    for _ in range(12):
        opt.step()
        seq.step()
        lrs.append(list(seq.get_last_lr()))
        moms.append(opt.param_groups[0]['momentum'])
    out.append({'scheduler': 'SequentialLR', 'options': {'warmup': {'startFactor': 0.1, 'totalIters': 3}, 'cosine': {'tMax': 7}, 'milestones': [3]},
                'optimizer': 'sgd', 'lrs': lrs, 'momentum': moms})
    with open(os.path.join(OUT, 'schedulers.json'), 'w') as f:
        json.dump(out, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    pixels, labels = read_fmnist16()
    with open(os.path.join(OUT, 'fmnist16.bin'), 'wb') as f:
        f.write(labels.tobytes())
        f.write(pixels.tobytes())
    trajectories(pixels, labels)
    scheduler_sequences()
    print('wrote', sorted(os.listdir(OUT)))


if __name__ == '__main__':
    main()
