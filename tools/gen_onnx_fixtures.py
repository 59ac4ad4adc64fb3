#!/usr/bin/python3
"""Write ONNX import fixtures: small PyTorch models exported with torch.onnx.export, and their outputs.

Run with Debian's PyTorch (python3-torch 1.13 CPU; not a pyenv python):

    /usr/bin/python3 tools/gen_onnx_fixtures.py              # writes test/fixtures/onnx/
    /usr/bin/python3 tools/gen_onnx_fixtures.py --resnet18 /tmp/r18   # also torchvision's resnet18 (not committed)

For each model NAME it writes ``NAME.onnx`` and adds an entry to ``manifest.json``::

    {"name": ..., "file": "NAME.onnx", "opset": 13, "input_shape": [N, C, H, W], "output_shape": [N, K],
     "input": [floats...], "output": [floats...], "ops": [op types in the file], "note": ...}

The input is seeded random float32 (so every channel and position matters), the output is PyTorch's own forward of
the model in eval mode on that input; test/io/onnx-import.test.ts checks convkit's import of the file against it.
Models are small (the whole folder stays well under 2 MB). BatchNorm models are exported with
``training=TrainingMode.PRESERVE`` (model in eval mode), which keeps BatchNormalization nodes and their running
statistics instead of folding them into the convolution, so the imported module has BatchNorm to train.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'onnx')


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 32)
        self.fc2 = nn.Linear(32, 16)
        self.out = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.out(torch.tanh(self.fc2(F.relu(self.fc1(x)))))


class LeNet(nn.Module):
    """LeNet-5-like: conv/tanh/maxpool, conv/sigmoid/avgpool (padding counted), x.view(N, -1) (Shape/Gather/...)."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 12, 5)
        self.pool2 = nn.AvgPool2d(3, stride=2, padding=1)
        self.fc1 = nn.Linear(12 * 5 * 5, 40)
        self.fc2 = nn.Linear(40, 10)

    def forward(self, x):
        x = self.pool1(torch.tanh(self.conv1(x)))
        x = self.pool2(torch.sigmoid(self.conv2(x)))
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


class VggBn(nn.Module):
    """A VGG-like block: conv-BN-ReLU twice, max pool (ceil mode), dropout, then a classifier with dropout."""
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Dropout(0.25),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(16 * 7 * 7, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class Residual(nn.Module):
    """A residual block with a strided 1x1 projection shortcut and a dilated grouped convolution; global average pool."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv1 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=4)
        self.bn2 = nn.BatchNorm2d(16)
        self.shortcut = nn.Conv2d(8, 16, 1, stride=2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        y = F.relu(y + self.shortcut(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class Inception(nn.Module):
    """An Inception-like block: four branches joined by Concat on channels (one a 3x3 max pool with padding)."""
    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(3, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU(), nn.Conv2d(2, 4, 5, padding=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(3, 2, 1))
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        y = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)
        y = F.max_pool2d(F.relu(y), 4)
        return self.fc(y.reshape(-1, 16 * 4 * 4))


class Mixed(nn.Module):
    """Pad (asymmetric, constant), Clip (ReLU6 and clamp), LeakyReLU, AvgPool not counting padding, Reshape, Softmax."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.fc = nn.Linear(8 * 13 * 14, 10)

    def forward(self, x):
        x = F.pad(x, (1, 2, 0, 1), value=0.25)
        x = F.relu6(self.conv1(x))
        x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        x = F.leaky_relu(self.conv2(x), 0.1)
        x = torch.clamp(x, -0.5, 0.75)
        x = torch.reshape(x, (x.shape[0], 8 * 13 * 14))
        return F.softmax(self.fc(x), dim=1)


class LrnFunction(torch.autograd.Function):
    """F.local_response_norm, exported as one ONNX LRN node. PyTorch's own export of nn.LocalResponseNorm is a
    chain of primitives with an If (a data-dependent Squeeze), which no CNN importer should have to run; the
    `symbolic` hook is PyTorch's documented way to export a Python function as one operator."""
    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        return F.local_response_norm(x, size, alpha=alpha, beta=beta, k=k)

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        return g.op('LRN', x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


class Lrn(nn.Module):
    """AlexNet-style: conv, ReLU, local response normalisation (an LRN node), max pool, classifier."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 5, stride=2, padding=2)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        x = LrnFunction.apply(F.relu(self.conv(x)), 5, 1e-3, 0.75, 2.0)
        x = F.max_pool2d(x, 2)
        return self.fc(torch.flatten(x, 1))


def lrn_node_model(path, seed):
    """An ONNX LRN node written with onnx.helper (PyTorch never emits one); reference from F.local_response_norm."""
    import onnx
    from onnx import helper, TensorProto
    size, alpha, beta, bias = 3, 2e-2, 0.75, 1.5
    node = helper.make_node('LRN', ['input'], ['output'], name='lrn0', size=size, alpha=alpha, beta=beta, bias=bias)
    graph = helper.make_graph([node], 'lrn', [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 6, 5, 5])],
                              [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', 6, 5, 5])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='convkit-fixtures')
    onnx.checker.check_model(model)
    onnx.save(model, path)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 6, 5, 5, generator=g) * 2
    y = F.local_response_norm(x, size, alpha=alpha, beta=beta, k=bias)
    return x, y


CASES = [
    # name, constructor, input shape, opset, seed, note
    ('mlp', Mlp, (2, 1, 28, 28), 13, 1, 'Flatten, Gemm, Relu, Tanh'),
    ('lenet', LeNet, (2, 1, 28, 28), 13, 2, 'Conv, Tanh, MaxPool, Sigmoid, AveragePool (count_include_pad), Shape/Gather/Unsqueeze/Concat -> Reshape'),
    ('vgg_bn', VggBn, (2, 1, 28, 28), 13, 3, 'BatchNormalization kept (PRESERVE), MaxPool ceil_mode, Flatten (its two Dropout layers are left out by the exporter in eval mode)'),
    ('residual', Residual, (2, 3, 16, 16), 13, 4, 'strided, dilated, grouped Conv, BatchNormalization, Add, GlobalAveragePool'),
    ('inception', Inception, (2, 3, 16, 16), 13, 5, 'Concat of four branches, MaxPool with padding, Reshape with -1'),
    ('mixed', Mixed, (2, 1, 28, 28), 13, 6, 'Pad (inputs), Clip (inputs), LeakyRelu, AveragePool (count_include_pad=0), Reshape, Softmax (axis 1)'),
    ('lrn', Lrn, (2, 3, 32, 32), 13, 7, 'LRN node (exported through a symbolic), size 5'),
    ('mixed_opset9', Mixed, (2, 1, 28, 28), 9, 6, 'opset 9: Pad and Clip with attributes, Softmax coercing to 2-D'),
    ('lenet_opset11', LeNet, (2, 1, 28, 28), 11, 2, 'opset 11: Unsqueeze axes as an attribute, Clip/Pad inputs'),
]


def export(model, x, path, opset, preserve):
    kwargs = dict(input_names=['input'], output_names=['output'], opset_version=opset,
                  dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}})
    if preserve:
        kwargs['training'] = torch.onnx.TrainingMode.PRESERVE
        kwargs['do_constant_folding'] = False
    torch.onnx.export(model, x, path, **kwargs)


def ops_of(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return sorted({n.op_type for n in m.graph.node})


def randomize_bn(model, seed):
    """Non-trivial running statistics and affine parameters, so BatchNorm is really tested."""
    g = torch.Generator().manual_seed(seed + 100)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=OUT)
    parser.add_argument('--resnet18', metavar='DIR', help='also export torchvision resnet18 (random weights) to DIR')
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = []
    for name, ctor, shape, opset, seed, note in CASES:
        torch.manual_seed(seed)
        model = ctor()
        randomize_bn(model, seed)
        model.eval()
        g = torch.Generator().manual_seed(seed + 1000)
        x = torch.rand(*shape, generator=g)
        with torch.no_grad():
            y = model(x)
        path = os.path.join(args.out, f'{name}.onnx')
        export(model, x, path, opset, preserve=any(isinstance(m, nn.BatchNorm2d) for m in model.modules()))
        manifest.append({'name': name, 'file': f'{name}.onnx', 'opset': opset, 'input_shape': list(x.shape),
                         'output_shape': list(y.shape), 'input': x.flatten().tolist(), 'output': y.flatten().tolist(),
                         'ops': ops_of(path), 'note': note})
        print(name, 'opset', opset, 'ops', ' '.join(manifest[-1]['ops']), file=sys.stderr)
    path = os.path.join(args.out, 'lrn_node.onnx')
    x, y = lrn_node_model(path, 8)
    manifest.append({'name': 'lrn_node', 'file': 'lrn_node.onnx', 'opset': 13, 'input_shape': list(x.shape),
                     'output_shape': list(y.shape), 'input': x.flatten().tolist(), 'output': y.flatten().tolist(),
                     'ops': ['LRN'], 'note': 'an ONNX LRN node (written with onnx.helper), PyTorch F.local_response_norm as the reference'})
    with open(os.path.join(args.out, 'manifest.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'generator': 'tools/gen_onnx_fixtures.py', 'models': manifest}, f)
    if args.resnet18:
        import torchvision
        os.makedirs(args.resnet18, exist_ok=True)
        torch.manual_seed(18)
        model = torchvision.models.resnet18()
        randomize_bn(model, 18)
        model.eval()
        x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(18))
        with torch.no_grad():
            y = model(x)
        export(model, x, os.path.join(args.resnet18, 'resnet18.onnx'), 13, preserve=True)
        np.asarray(x.numpy(), dtype='<f4').tofile(os.path.join(args.resnet18, 'input.bin'))
        np.asarray(y.numpy(), dtype='<f4').tofile(os.path.join(args.resnet18, 'output.bin'))
        with open(os.path.join(args.resnet18, 'resnet18.json'), 'w') as f:
            json.dump({'input_shape': list(x.shape), 'output_shape': list(y.shape), 'ops': ops_of(os.path.join(args.resnet18, 'resnet18.onnx'))}, f)
        print('resnet18 written to', args.resnet18, file=sys.stderr)


if __name__ == '__main__':
    main()
