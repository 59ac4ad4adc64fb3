"""The four benchmark models in PyTorch (the reference definitions every other peer copies).

mlp       784-256-256-10, ReLU                                   input 1x28x28
lenet5    conv 1->6 5x5 pad 2, ReLU, maxpool 2, conv 6->16 5x5, ReLU, maxpool 2, fc 400-120-84-10
vggsmall  conv 1->32, 32->32 3x3 pad 1, maxpool, conv 32->64, 64->64, maxpool, fc 3136-256-10, ReLU everywhere
resnet20  CIFAR ResNet-20 (3 stages x 3 basic blocks, 16/32/64 channels), option-B 1x1-conv + BN shortcuts,
          272,474 parameters                                     input 3x32x32
"""
import torch
from torch import nn

INPUT_SHAPES = {'mlp': (1, 28, 28), 'lenet5': (1, 28, 28), 'vggsmall': (1, 28, 28), 'resnet20': (3, 32, 32)}
TRAIN_BATCH = {'mlp': 64, 'lenet5': 64, 'vggsmall': 64, 'resnet20': 128}
PARAM_COUNTS = {'mlp': 269_322, 'lenet5': 61_706, 'vggsmall': 870_634, 'resnet20': 272_474}


def mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def vggsmall() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 256), nn.ReLU(), nn.Linear(256, 10))


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:  # option B: projection by a 1x1 conv + BN
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers = []
        c_in = 16
        for c_out, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(3):
                blocks.append(BasicBlock(c_in, c_out, stride if i == 0 else 1))
                c_in = c_out
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def create(name: str) -> nn.Module:
    builders = {'mlp': mlp, 'lenet5': lenet5, 'vggsmall': vggsmall, 'resnet20': ResNet20}
    if name not in builders:
        raise ValueError(f"unknown model '{name}' (known: {', '.join(builders)})")
    model = builders[name]()
    count = sum(p.numel() for p in model.parameters())
    if count != PARAM_COUNTS[name]:
        raise AssertionError(f'{name}: {count} parameters, expected {PARAM_COUNTS[name]}')
    return model
