/**
 * The PyTorch round trip (issue 18, part 4): a convkit checkpoint becomes a folder PyTorch users can train with
 * DistributedDataParallel on many processes, GPUs or machines, and the trained weights come back as a checkpoint.
 *
 * `exportPytorchFolder(ck, net, dir)` writes
 * - `model.safetensors`: the state dict under convkit's keys, which are torchvision's (and PyTorch's) keys;
 * - `model.py`: a plain `torch.nn.Module` of the same architecture, generated from the convkit Module tree
 *   (leaf layers become their `torch.nn` twins, the zoo's composite blocks become small classes), with
 *   `create_model()` and a dependency-free safetensors reader/writer;
 * - `train_ddp.py`: continues training under `torchrun` with the run's optimizer, schedule, augmentation and
 *   normalisation as argparse defaults, and writes the weights back to `model.safetensors` on rank 0;
 * - `convkit.json`: what the import needs to rebuild the model (registry name and config, dataset, classes,
 *   normalisation, metrics so far); `train_ddp.py` appends each PyTorch run's epochs to it;
 * - `optimizer.safetensors` when the checkpoint has optimizer state: SGD's momentum buffers or Adam's step and
 *   moments under `<parameter name>.<PyTorch's state key>`, so PyTorch continues the run rather than restarting
 *   its optimizer.
 *
 * `importPytorchFolder(dir, outDir)` turns such a folder back into a convkit checkpoint.
 *
 * A layer torch.nn has no twin for (LocallyConnected2d) is a `PytorchExportError` naming the layer and its path.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { saveCheckpoint } from './checkpoint.js';
import { embeddedSubsetDir } from './datasets.js';
import type { Checkpoint, CheckpointMeta, EpochMetrics, JsonValue } from '../io/checkpoint.js';
import { encodeSafetensors, type SafetensorsInput } from '../io/safetensors.js';
import { Module } from '../nn/module.js';
import { Sequential } from '../nn/layers/container.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Linear, Flatten, Identity } from '../nn/layers/linear.js';
import { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d } from '../nn/layers/pooling.js';
import { BatchNorm2d, BatchNorm1d } from '../nn/layers/normalization.js';
import { ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import * as models from '../models/index.js';
import { MLP, LeNet5, VGGSmall } from '../models/reference.js';
import { VGG, VGGSmallBN } from '../models/vgg.js';
import { AlexNet } from '../models/alexnet.js';
import { CifarResNet, CifarBasicBlock } from '../models/cifar_resnet.js';
import { ResNet, BasicBlock, Bottleneck } from '../models/resnet.js';
import { DenseNet, DenseBlock, DenseLayer } from '../models/densenet.js';
import { SmallInception, SmallInceptionModule, DownsampleModule, ConvModule } from '../models/small_inception.js';
import { GoogLeNet, Inception, InceptionAux, BasicConv2d } from '../models/googlenet.js';
import { stateDictFromSafetensors } from '../models/weights.js';

/** The folder's JSON document: what `importPytorchFolder` reads and `train_ddp.py` appends its runs to. */
export const PYTORCH_META_FILE = 'convkit.json';
export const PYTORCH_WEIGHTS_FILE = 'model.safetensors';
export const PYTORCH_MODEL_FILE = 'model.py';
export const PYTORCH_TRAIN_FILE = 'train_ddp.py';
export const PYTORCH_OPTIMIZER_FILE = 'optimizer.safetensors';
export const PYTORCH_EXPORT_FORMAT = 'convkit-pytorch-export';
export const PYTORCH_EXPORT_VERSION = 1;

/** A model (or one of its layers) that has no PyTorch form here, or a folder that is not an export. */
export class PytorchExportError extends Error {
  override name = 'PytorchExportError';
}

/** One epoch trained by `train_ddp.py`, as it appends it to `convkit.json`. */
export interface PytorchEpoch extends EpochMetrics {
  /** Test images evaluated (the whole test file). */
  testCount: number;
}

/** One `torchrun ... train_ddp.py` run recorded in `convkit.json`. */
export interface PytorchRun {
  worldSize: number;
  backend: string;
  device: string;
  torchVersion: string;
  finishedAt: string;
  /** The weights this run started from. */
  startedFrom?: string;
  history: PytorchEpoch[];
}

/** `convkit.json`. */
export interface PytorchExportMeta {
  format: typeof PYTORCH_EXPORT_FORMAT;
  version: typeof PYTORCH_EXPORT_VERSION;
  model: CheckpointMeta['model'];
  dataset: NonNullable<CheckpointMeta['dataset']>;
  optimizer: CheckpointMeta['optimizer'];
  /** The schedule's name (`none`, `step`, `cosine`, `onecycle`). */
  schedule: string;
  /** The convkit run's settings and seed (as the checkpoint recorded them). */
  training: { [key: string]: JsonValue };
  /** Epochs and optimizer steps done in convkit before the export, and their metrics. */
  convkit: { epoch: number; globalStep: number; history: EpochMetrics[]; checkpoint: string };
  /** Runs of train_ddp.py, appended by it. */
  pytorch: { runs: PytorchRun[] };
  /**
   * Which optimizer the state in optimizer.safetensors belongs to (train_ddp.py continues from it when it trains
   * with the same one), or null when there is none.
   */
  optimizerState: { file: string; optimizer: string } | null;
}

// ---------------------------------------------------------------------------------------------------------------
// model.py: from the convkit Module tree to Python source

/** A Python literal for a number: integers as is, other values in the shortest form that reads back the same. */
function pyNum(x: number): string {
  if (!Number.isFinite(x)) throw new PytorchExportError(`cannot write ${x} as a Python number`);
  return String(x);
}
const pyStr = (s: string): string => JSON.stringify(s);
const pyBool = (b: boolean): string => (b ? 'True' : 'False');
type Pair = number | readonly [number, number];
const pair = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : [p[0], p[1]]);
/** `3` for a square pair, `(3, 5)` otherwise (what torch.nn accepts and prints). */
function pyPair(p: Pair): string {
  const [a, b] = pair(p);
  return a === b ? String(a) : `(${a}, ${b})`;
}
const isDefaultPair = (p: Pair, v: number): boolean => pair(p)[0] === v && pair(p)[1] === v;

/** Python identifiers for `self.<name> = ...` (convkit child names are identifiers or indices). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `nn.Conv2d(...)` arguments of a convkit Conv2d, defaults left out as a person would write them. */
function conv2dArgs(c: Conv2d): string {
  const args = [String(c.inChannels), String(c.outChannels), `kernel_size=${pyPair(c.kernelSize)}`];
  if (!isDefaultPair(c.stride, 1)) args.push(`stride=${pyPair(c.stride)}`);
  if (typeof c.padding === 'string') args.push(`padding=${pyStr(c.padding)}`);
  else if (!isDefaultPair(c.padding, 0)) args.push(`padding=${pyPair(c.padding)}`);
  if (!isDefaultPair(c.dilation, 1)) args.push(`dilation=${pyPair(c.dilation)}`);
  if (c.groups !== 1) args.push(`groups=${c.groups}`);
  if (c.bias === null) args.push('bias=False');
  return args.join(', ');
}

function batchNormArgs(b: BatchNorm2d | BatchNorm1d): string {
  const args = [String(b.numFeatures)];
  if (b.eps !== 1e-5) args.push(`eps=${pyNum(b.eps)}`);
  if (b.momentum !== 0.1) args.push(`momentum=${b.momentum === null ? 'None' : pyNum(b.momentum)}`);
  if (!b.affine) args.push('affine=False');
  if (!b.trackRunningStats) args.push('track_running_stats=False');
  return args.join(', ');
}

function poolArgs(kernel: Pair, stride: Pair, padding: Pair, ceilMode: boolean): string[] {
  const args = [pyPair(kernel)];
  if (pyPair(stride) !== pyPair(kernel)) args.push(`stride=${pyPair(stride)}`);
  if (!isDefaultPair(padding, 0)) args.push(`padding=${pyPair(padding)}`);
  if (ceilMode) args.push('ceil_mode=True');
  return args;
}

function adaptiveSize(s: number | readonly [number | null, number | null]): string {
  if (typeof s === 'number') return String(s);
  const [h, w] = s;
  if (h !== null && h === w) return String(h);
  return `(${h === null ? 'None' : h}, ${w === null ? 'None' : w})`;
}

/** The torch.nn expression of a leaf layer, or null when it is not a leaf this generator knows. */
function leafExpression(m: Module): string | null {
  if (m instanceof Conv2d) return `nn.Conv2d(${conv2dArgs(m)})`;
  if (m instanceof Linear) return `nn.Linear(${m.inFeatures}, ${m.outFeatures}${m.bias === null ? ', bias=False' : ''})`;
  if (m instanceof BatchNorm2d) return `nn.BatchNorm2d(${batchNormArgs(m)})`;
  if (m instanceof BatchNorm1d) return `nn.BatchNorm1d(${batchNormArgs(m)})`;
  if (m instanceof ReLU) return 'nn.ReLU()';
  if (m instanceof LeakyReLU) return m.negativeSlope === 0.01 ? 'nn.LeakyReLU()' : `nn.LeakyReLU(${pyNum(m.negativeSlope)})`;
  if (m instanceof ELU) return m.alpha === 1 ? 'nn.ELU()' : `nn.ELU(alpha=${pyNum(m.alpha)})`;
  if (m instanceof GELU) return 'nn.GELU()';
  if (m instanceof Sigmoid) return 'nn.Sigmoid()';
  if (m instanceof Tanh) return 'nn.Tanh()';
  if (m instanceof MaxPool2d) return `nn.MaxPool2d(${poolArgs(m.kernelSize, m.stride, m.padding, m.ceilMode).join(', ')})`;
  if (m instanceof AvgPool2d) {
    const args = poolArgs(m.kernelSize, m.stride, m.padding, m.ceilMode);
    if (!m.countIncludePad) args.push('count_include_pad=False');
    if (m.divisorOverride !== undefined) args.push(`divisor_override=${m.divisorOverride}`);
    return `nn.AvgPool2d(${args.join(', ')})`;
  }
  if (m instanceof AdaptiveAvgPool2d) return `nn.AdaptiveAvgPool2d(${adaptiveSize(m.outputSize)})`;
  if (m instanceof AdaptiveMaxPool2d) return `nn.AdaptiveMaxPool2d(${adaptiveSize(m.outputSize)})`;
  if (m instanceof Dropout) return m.p === 0.5 ? 'nn.Dropout()' : `nn.Dropout(p=${pyNum(m.p)})`;
  if (m instanceof Flatten) return m.startDim === 1 && m.endDim === -1 ? 'nn.Flatten()' : `nn.Flatten(${m.startDim}, ${m.endDim})`;
  if (m instanceof Identity) return 'nn.Identity()';
  return null;
}

/** Python class definitions of the zoo's composite blocks, each written once, in dependency order. */
const BLOCK_CLASSES: Record<string, { needs: string[]; source: string }> = {
  CifarBasicBlock: {
    needs: [],
    source: `
class CifarBasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and a skip connection (He et al. 2015, the CIFAR networks).

    shortcut="A": where the block changes size, the skip subsamples the input (every second row and
    column) and zero-pads the new channels, half before and half after: no parameters (the paper's option A).
    shortcut="B": there the skip is a strided 1x1 convolution + BatchNorm (option B).
    shortcut="none": no skip connection at all (the plain network of the depth experiment).
    """

    def __init__(self, in_planes, planes, stride=1, shortcut="A"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.kind = shortcut
        self.stride = stride
        self.planes = planes
        self.resizes = stride != 1 or in_planes != planes
        if shortcut == "B" and self.resizes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        else:
            self.shortcut = None  # a plain attribute: no weights, no state-dict keys

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.kind == "none":
            return F.relu(out)
        if self.shortcut is not None:
            skip = self.shortcut(x)
        elif self.resizes:
            skip = x[:, :, :: self.stride, :: self.stride]
            extra = self.planes - skip.shape[1]
            # F.pad pads the last dimensions first: (W left, W right, H top, H bottom, C before, C after).
            skip = F.pad(skip, (0, 0, 0, 0, extra // 2, extra - extra // 2))
        else:
            skip = x
        return F.relu(out + skip)
`,
  },
  BasicBlock: {
    needs: [],
    source: `
class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: two 3x3 convolutions and a skip connection."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)
`,
  },
  Bottleneck: {
    needs: [],
    source: `
class Bottleneck(nn.Module):
    """torchvision's ResNet bottleneck (v1.5: the stride sits on the 3x3 convolution)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)
`,
  },
  DenseLayer: {
    needs: [],
    source: `
class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1 to bn_size * growth_rate channels, then BN-ReLU-Conv3x3 to growth_rate channels."""

    def __init__(self, in_channels, growth_rate, bn_size, drop_rate=0.0):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)
        self.drop_rate = drop_rate

    def forward(self, x):
        out = self.conv1(self.relu1(self.norm1(x)))
        out = self.conv2(self.relu2(self.norm2(out)))
        return F.dropout(out, p=self.drop_rate, training=self.training) if self.drop_rate > 0 else out
`,
  },
  DenseBlock: {
    needs: ['DenseLayer'],
    source: `
class DenseBlock(nn.Module):
    """Dense connectivity: each layer sees the concatenation of the block input and every earlier layer's output."""

    def __init__(self, num_layers, in_channels, bn_size, growth_rate, drop_rate=0.0):
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x):
        features = [x]
        for layer in self.children():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)
`,
  },
  ConvModule: {
    needs: [],
    source: `
class ConvModule(nn.Module):
    """Conv (no bias), BatchNorm with a learned shift but no learned scale, ReLU (Zhang et al. 2017).

    'same' padding for stride 1, none for stride 2. The shift is its own parameter, as in the paper's
    TensorFlow batch_norm(center=True, scale=False).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1):
        super().__init__()
        padding = (kernel_size - 1) // 2 if stride == 1 else 0
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, affine=False)
        self.shift = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)) + self.shift.view(1, -1, 1, 1))
`,
  },
  SmallInceptionModule: {
    needs: ['ConvModule'],
    source: `
class SmallInceptionModule(nn.Module):
    """A 1x1 and a 3x3 ConvModule in parallel, concatenated along channels."""

    def __init__(self, in_channels, ch1x1, ch3x3):
        super().__init__()
        self.branch1x1 = ConvModule(in_channels, ch1x1, 1)
        self.branch3x3 = ConvModule(in_channels, ch3x3, 3)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch3x3(x)], 1)
`,
  },
  DownsampleModule: {
    needs: ['ConvModule'],
    source: `
class DownsampleModule(nn.Module):
    """A stride-2 3x3 ConvModule and a stride-2 3x3 max pool in parallel, concatenated along channels."""

    def __init__(self, in_channels, ch3x3):
        super().__init__()
        self.conv = ConvModule(in_channels, ch3x3, 3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)
`,
  },
  BasicConv2d: {
    needs: [],
    source: `
class BasicConv2d(nn.Module):
    """Conv2d without bias, BatchNorm2d (eps 0.001), ReLU: every convolution of GoogLeNet."""

    def __init__(self, in_channels, out_channels, **conv_options):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_options)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))
`,
  },
  Inception: {
    needs: ['BasicConv2d'],
    source: `
class Inception(nn.Module):
    """Four parallel branches concatenated along channels: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 (torchvision's
    "5x5", which is a 3x3 that its pretrained weights depend on); 3x3 max pool -> 1x1."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)
`,
  },
  InceptionAux: {
    needs: ['BasicConv2d'],
    source: `
class InceptionAux(nn.Module):
    """GoogLeNet's auxiliary classifier. Its weights travel with the model; forward() below does not call it
    (convkit's forward returns the main logits only): call it on an intermediate map to train with it."""

    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))
`,
  },
};

/** The forward of each zoo model (the root of the tree), in Python, and what it says about itself. */
interface RootForm {
  className: string;
  /** Lines of `forward(self, x)`'s body. */
  forward: string[];
  /** Extra lines at the end of `__init__` (plain attributes the forward reads). */
  extraInit?: string[];
  /** Parameters the forward leaves unused (DDP must be told: find_unused_parameters). */
  unusedParameters?: boolean;
}

function rootForm(net: Module): RootForm | null {
  const featuresThenClassifier = ['return self.classifier(torch.flatten(self.features(x), 1))'];
  if (net instanceof MLP) return { className: 'MLP', forward: ['return self.classifier(self.flatten(x))'] };
  if (net instanceof LeNet5) return { className: 'LeNet5', forward: featuresThenClassifier };
  if (net instanceof VGGSmall) return { className: 'VGGSmall', forward: featuresThenClassifier };
  if (net instanceof VGGSmallBN) return { className: net.typeName, forward: featuresThenClassifier };
  if (net instanceof VGG || net instanceof AlexNet) {
    return { className: net.typeName, forward: ['x = self.avgpool(self.features(x))', 'return self.classifier(torch.flatten(x, 1))'] };
  }
  if (net instanceof CifarResNet) {
    return {
      className: 'CifarResNet',
      forward: [
        'x = F.relu(self.bn1(self.conv1(x)))',
        'x = self.layer3(self.layer2(self.layer1(x)))',
        'x = F.adaptive_avg_pool2d(x, 1)  # global average pooling',
        'return self.linear(torch.flatten(x, 1))',
      ],
    };
  }
  if (net instanceof ResNet) {
    return {
      className: 'ResNet',
      forward: [
        'x = self.maxpool(self.relu(self.bn1(self.conv1(x))))',
        'x = self.layer4(self.layer3(self.layer2(self.layer1(x))))',
        'return self.fc(torch.flatten(self.avgpool(x), 1))',
      ],
    };
  }
  if (net instanceof DenseNet) {
    return {
      className: 'DenseNet',
      forward: ['x = F.relu(self.features(x))', 'x = F.adaptive_avg_pool2d(x, 1)', 'return self.classifier(torch.flatten(x, 1))'],
    };
  }
  if (net instanceof SmallInception) {
    return {
      className: 'SmallInception',
      forward: ['x = F.adaptive_avg_pool2d(self.features(x), 1)  # global average pooling', 'return self.classifier(torch.flatten(x, 1))'],
    };
  }
  if (net instanceof GoogLeNet) {
    return {
      className: 'GoogLeNet',
      extraInit: [`self.transform_input = ${pyBool(net.transformInput)}`],
      unusedParameters: net.aux1 !== null,
      forward: [
        'if self.transform_input:',
        '    # ImageNet-normalised input re-normalised to (x - 0.5) / 0.5, as torchvision\'s transform_input',
        '    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)',
        '    x = torch.cat([x[:, c : c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)], 1)',
        'x = self.maxpool1(self.conv1(x))',
        'x = self.maxpool2(self.conv3(self.conv2(x)))',
        'x = self.maxpool3(self.inception3b(self.inception3a(x)))',
        'x = self.inception4d(self.inception4c(self.inception4b(self.inception4a(x))))',
        'x = self.maxpool4(self.inception4e(x))',
        'x = self.inception5b(self.inception5a(x))',
        'return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))',
      ],
    };
  }
  return null;
}

/** Composite blocks as a constructor call of their Python class (the class text is added to `needed`). */
function blockExpression(m: Module, path: string, needed: Set<string>, indent: string): string | null {
  const need = (name: string): void => {
    for (const dep of BLOCK_CLASSES[name]!.needs) need(dep);
    needed.add(name);
  };
  if (m instanceof CifarBasicBlock) {
    need('CifarBasicBlock');
    return `CifarBasicBlock(${m.conv1.inChannels}, ${m.conv1.outChannels}, stride=${m.conv1.stride[0]}, shortcut=${pyStr(m.option)})`;
  }
  if (m instanceof BasicBlock || m instanceof Bottleneck) {
    const name = m instanceof BasicBlock ? 'BasicBlock' : 'Bottleneck';
    need(name);
    const stride = m instanceof BasicBlock ? m.conv1.stride[0] : m.conv2.stride[0];
    const planes = m.conv1.outChannels;
    const head = `${name}(${m.conv1.inChannels}, ${planes}, stride=${stride}`;
    if (!m.downsample) return `${head})`;
    return `${head}, downsample=${expression(m.downsample, `${path}.downsample`, needed, indent)})`;
  }
  if (m instanceof DenseBlock) {
    need('DenseBlock');
    const layers = [...m.children()].filter((c): c is DenseLayer => c instanceof DenseLayer);
    const first = layers[0]!;
    const growth = first.conv2.outChannels;
    const bnSize = first.conv1.outChannels / growth;
    const drop = first.dropout ? first.dropout.p : 0;
    return `DenseBlock(num_layers=${layers.length}, in_channels=${first.norm1.numFeatures}, bn_size=${bnSize}, growth_rate=${growth}, drop_rate=${pyNum(drop)})`;
  }
  if (m instanceof ConvModule) {
    need('ConvModule');
    const stride = m.conv.stride[0];
    return `ConvModule(${m.conv.inChannels}, ${m.conv.outChannels}, ${m.conv.kernelSize[0]}${stride !== 1 ? `, stride=${stride}` : ''})`;
  }
  if (m instanceof SmallInceptionModule) {
    need('SmallInceptionModule');
    return `SmallInceptionModule(${m.branch1x1.conv.inChannels}, ${m.branch1x1.conv.outChannels}, ${m.branch3x3.conv.outChannels})`;
  }
  if (m instanceof DownsampleModule) {
    need('DownsampleModule');
    return `DownsampleModule(${m.conv.conv.inChannels}, ${m.conv.conv.outChannels})`;
  }
  if (m instanceof BasicConv2d) {
    need('BasicConv2d');
    const conv = conv2dArgs(m.conv).replace(/, bias=False$/, '');
    return `BasicConv2d(${conv})`;
  }
  if (m instanceof Inception) {
    need('Inception');
    const c = (b: Module): number => (b as BasicConv2d).conv.outChannels;
    const b2 = [...m.branch2], b3 = [...m.branch3], b4 = [...m.branch4];
    return `Inception(${m.branch1.conv.inChannels}, ${c(m.branch1)}, ${c(b2[0]!)}, ${c(b2[1]!)}, ${c(b3[0]!)}, ${c(b3[1]!)}, ${c(b4[1]!)})`;
  }
  if (m instanceof InceptionAux) {
    need('InceptionAux');
    return `InceptionAux(${m.conv.conv.inChannels}, ${m.fc2.outFeatures}, dropout=${pyNum(m.dropout.p)})`;
  }
  return null;
}

/** The Python expression that builds `m` (at `path` in the model), one or more lines indented by `indent`. */
function expression(m: Module, path: string, needed: Set<string>, indent: string): string {
  const leaf = leafExpression(m);
  if (leaf !== null) return leaf;
  const block = blockExpression(m, path, needed, indent);
  if (block !== null) return block;
  if (m instanceof Sequential) {
    const children = [...m.namedChildren()];
    if (children.length === 0) return 'nn.Sequential()';
    const inner = indent + '    ';
    const at = (name: string): string => (path ? `${path}.${name}` : name);
    const numbered = children.every(([name], i) => name === String(i));
    if (numbered) {
      const items = children.map(([name, c]) => `${inner}${expression(c, at(name), needed, inner)},`);
      return `nn.Sequential(\n${items.join('\n')}\n${indent})`;
    }
    needed.add('OrderedDict');
    const items = children.map(([name, c]) => `${inner}(${pyStr(name)}, ${expression(c, at(name), needed, inner)}),`);
    return `nn.Sequential(OrderedDict([\n${items.join('\n')}\n${indent}]))`;
  }
  throw unsupported(m, path);
}

/** Layers with no torch.nn twin, named with their path (the whole list, so one run tells the user everything). */
function unsupported(m: Module, path: string): PytorchExportError {
  return new PytorchExportError(`${m.typeName}${path ? ` in ${path}` : ''} has no PyTorch form here (${SUPPORTED_TEXT})`);
}

const SUPPORTED_TEXT = 'the PyTorch export writes Conv2d, Linear, BatchNorm, activations, pools, Dropout, Flatten, Sequential and the zoo\'s ' +
  'residual, Inception and dense blocks; LocallyConnected2d and other layers without a torch.nn twin are not supported';

/** The first layer (deepest first) that the generator cannot write, or null when the whole tree is supported. */
function findUnsupported(net: Module): { module: Module; path: string } | null {
  const known = (m: Module): boolean =>
    leafExpression(m) !== null || m instanceof Sequential || m instanceof CifarBasicBlock || m instanceof BasicBlock || m instanceof Bottleneck ||
    m instanceof DenseBlock || m instanceof DenseLayer || m instanceof ConvModule || m instanceof SmallInceptionModule ||
    m instanceof DownsampleModule || m instanceof BasicConv2d || m instanceof Inception || m instanceof InceptionAux;
  for (const [path, m] of net.namedModules()) {
    if (path === '') continue;
    if (!known(m)) return { module: m, path };
  }
  return rootForm(net) === null ? { module: net, path: '' } : null;
}

/** A module docstring line that stays valid Python (no triple quotes, no backslashes). */
const docText = (s: string): string => s.replace(/\\/g, '/').replace(/"""/g, "'''");

export interface ModelSourceInfo {
  /** Registry name (`resnet20`). */
  modelName: string;
  /** One line about the model (the registry's description). */
  description?: string;
  /** Where the weights came from, for the header comment. */
  origin?: string;
}

/** `model.py` for `net`: Python source, and whether DDP must look for unused parameters. Throws PytorchExportError. */
export function pytorchModelSource(net: Module, info: ModelSourceInfo): { source: string; className: string; unusedParameters: boolean } {
  const bad = findUnsupported(net);
  if (bad) throw unsupported(bad.module, bad.path);
  const root = rootForm(net)!;
  const needed = new Set<string>();
  const initLines: string[] = [];
  for (const [name, child] of net.namedChildren()) {
    if (!IDENTIFIER.test(name)) throw new PytorchExportError(`${net.typeName}: child '${name}' is not a Python identifier`);
    initLines.push(`        self.${name} = ${expression(child, name, needed, '        ')}`);
  }
  for (const line of root.extraInit ?? []) initLines.push(`        ${line}`);
  const blocks = Object.keys(BLOCK_CLASSES).filter((name) => needed.has(name)).map((name) => BLOCK_CLASSES[name]!.source.trim());
  const header = [
    `"""${docText(info.modelName)} as a plain PyTorch module, generated by \`convkit export --format pytorch\`.`,
    '',
    ...(info.description ? [docText(info.description), ''] : []),
    ...(info.origin ? [`Weights: ${docText(info.origin)}.`, ''] : []),
    'The state-dict keys equal convkit\'s (torchvision\'s naming), so the exported weights load with strict=True:',
    '',
    '    model = create_model()',
    '    model.load_state_dict(load_safetensors("model.safetensors"))',
    '',
    'The model takes normalised images [N, C, H, W] (see convkit.json for the mean and std) and returns logits.',
    '"""',
  ];
  const imports = [
    'import json',
    'import os',
    'import struct',
    'import sys',
    ...(needed.has('OrderedDict') ? ['from collections import OrderedDict'] : []),
    '',
    'import torch',
    'import torch.nn.functional as F',
    'from torch import nn',
  ];
  const rootClass = [
    `class ${root.className}(nn.Module):`,
    `    """${docText(info.modelName)}: ${docText(net.numParameters().toLocaleString('en-US'))} parameters."""`,
    '',
    '    def __init__(self):',
    '        super().__init__()',
    ...initLines,
    '',
    '    def forward(self, x):',
    ...root.forward.map((l) => `        ${l}`),
  ];
  const factory = [
    'def create_model():',
    `    """A fresh ${docText(info.modelName)} (load the trained weights into it with load_state_dict)."""`,
    `    return ${root.className}()`,
  ];
  const source = [
    ...header, '', ...imports, '', '',
    ...blocks.flatMap((b) => [b, '', '']),
    ...rootClass, '', '',
    ...factory, '', '',
    SAFETENSORS_PY.trim(), '',
  ].join('\n');
  return { source, className: root.className, unusedParameters: root.unusedParameters ?? false };
}

/**
 * The safetensors reader/writer inside model.py: the format is 8 bytes of header length, a JSON header and raw
 * little-endian data, so a few lines do; the `safetensors` package is used instead when it is installed.
 */
const SAFETENSORS_PY = `
# ---- Weights as safetensors (https://github.com/huggingface/safetensors): the \`safetensors\` package when it is
# installed, else this small reader/writer (Debian has no package for it). Both keep the keys and dtypes.

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}


def load_safetensors(path):
    """A dict of CPU tensors by key, as safetensors.torch.load_file returns it."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        pass
    else:
        return load_file(path)
    if sys.byteorder != "little":
        raise RuntimeError("safetensors data is little-endian; this reader only runs on little-endian machines")
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = _DTYPES[entry["dtype"]]
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"])
    return tensors


def save_safetensors(tensors, path, metadata=None):
    """Write tensors (a dict by key) to path atomically: a crash leaves the old file, never half a new one."""
    tensors = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        from safetensors.torch import save_file
    except ImportError:
        header, chunks, offset = {}, [], 0
        for name, t in tensors.items():
            raw = t.numpy().tobytes()
            header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
            chunks.append(raw)
            offset += len(raw)
        if metadata:
            header["__metadata__"] = dict(metadata)
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned, as the reference writer does
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for raw in chunks:
                f.write(raw)
    else:
        save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, path)
`;

// ---------------------------------------------------------------------------------------------------------------
// train_ddp.py

/** What train_ddp.py's argparse defaults are made of. */
export interface TrainDefaults {
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: 'none' | 'step' | 'cosine' | 'onecycle';
  augment: 'none' | 'crop' | 'crop-flip';
  batchSize: number;
  epochs: number;
  seed: number;
  /** Where the IDX files were on the exporting machine, if they were IDX files; else null (then --data is required). */
  dataDir: string | null;
}

function pyList(values: readonly number[]): string {
  return `[${values.map(pyNum).join(', ')}]`;
}

/** `train_ddp.py` for a model exported with `pytorchModelSource`. */
export function trainDdpSource(meta: PytorchExportMeta, defaults: TrainDefaults, unusedParameters: boolean): string {
  const ds = meta.dataset;
  const norm = ds.normalization ?? { mean: [0], std: [1] };
  const dataDefault = defaults.dataDir === null ? 'None' : pyStr(defaults.dataDir);
  return TRAIN_DDP_PY
    .replaceAll('@MODEL@', docText(meta.model.name))
    .replaceAll('@DATASET@', docText(ds.name))
    .replaceAll('@EPOCH@', String(meta.convkit.epoch))
    .replaceAll('@INPUT_SHAPE@', `(${ds.inputShape.join(', ')})`)
    .replaceAll('@MEAN@', pyList(norm.mean))
    .replaceAll('@STD@', pyList(norm.std))
    .replaceAll('@NUM_CLASSES@', String(ds.classNames.length))
    .replaceAll('@OPTIMIZER@', pyStr(defaults.optimizer))
    .replaceAll('@LR@', pyNum(defaults.lr))
    .replaceAll('@MOMENTUM@', pyNum(defaults.momentum))
    .replaceAll('@WEIGHT_DECAY@', pyNum(defaults.weightDecay))
    .replaceAll('@SCHEDULE@', pyStr(defaults.schedule))
    .replaceAll('@AUGMENT@', pyStr(defaults.augment))
    .replaceAll('@BATCH@', String(defaults.batchSize))
    .replaceAll('@EPOCHS@', String(defaults.epochs))
    .replaceAll('@SEED@', String(defaults.seed))
    .replaceAll('@DATA_DIR@', dataDefault)
    .replaceAll('@DATA_REQUIRED@', defaults.dataDir === null ? 'True' : 'False')
    .replaceAll('@UNUSED@', pyBool(unusedParameters))
    .trimStart();
}

const TRAIN_DDP_PY = String.raw`
#!/usr/bin/env python3
"""Continue training @MODEL@ with PyTorch DistributedDataParallel (generated by convkit export --format pytorch).

The convkit run trained @EPOCH@ epoch(s) on @DATASET@; the defaults below are its settings: optimizer and
hyperparameters, learning-rate schedule, augmentation, normalisation, batch size, number of epochs.

One machine, N processes on the CPU (gloo):

    torchrun --nproc_per_node=2 train_ddp.py --data DIR

One process per GPU (nccl is chosen when CUDA is available), and several machines with --nnodes:

    torchrun --nproc_per_node=8 train_ddp.py --data DIR
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 train_ddp.py --data DIR

(Debian 12's PyTorch 1.13 under Python 3.11: add --redirects 1 --tee 1 after torchrun; its default of 0 fails
there with "'NoneType' object has no attribute 'get'", a Python 3.11 enum change that later PyTorch handles.)

DIR holds Fashion-MNIST or MNIST IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]). Rank 0 writes the trained weights back to
model.safetensors and appends the epochs' results to convkit.json; then

    convkit import --pytorch THIS_FOLDER --out CHECKPOINT

makes a convkit checkpoint of them again. Rank 0 also saves the optimizer's state, and
the optimizer continues from optimizer.safetensors (momentum buffers, Adam's step and moments) when it is the
same kind; the schedule is laid out over this run's epochs as convkit lays it out (src/train/setup.ts).
"""
import argparse
import datetime
import gzip
import json
import os
import struct
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Subset
from torch.utils.data.distributed import DistributedSampler

from model import create_model, load_safetensors, save_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
# This folder is the model's state: rank 0 replaces these weights and records the run in convkit.json, which is
# what "convkit import --pytorch" reads. Copy the folder first to keep the weights you start from.
WEIGHTS = os.path.join(HERE, "model.safetensors")
OPTIMIZER_STATE = os.path.join(HERE, "optimizer.safetensors")

# What the model expects: [C, H, W] images in [0, 1], normalised per channel with the convkit run's statistics.
INPUT_SHAPE = @INPUT_SHAPE@
MEAN = @MEAN@
STD = @STD@
NUM_CLASSES = @NUM_CLASSES@
# True when forward() leaves some parameters unused (GoogLeNet's auxiliary heads): DDP must then look for them.
FIND_UNUSED_PARAMETERS = @UNUSED@


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=@DATA_DIR@, required=@DATA_REQUIRED@, help="folder with the IDX files")
    p.add_argument("--epochs", type=int, default=@EPOCHS@, help="epochs to train in this run")
    p.add_argument("--batch-size", type=int, default=@BATCH@, help="global batch size, split evenly across the processes")
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default=@OPTIMIZER@)
    p.add_argument("--lr", type=float, default=@LR@, help="learning rate (the peak for onecycle)")
    p.add_argument("--momentum", type=float, default=@MOMENTUM@, help="SGD momentum")
    p.add_argument("--weight-decay", type=float, default=@WEIGHT_DECAY@)
    p.add_argument("--schedule", choices=["none", "step", "cosine", "onecycle"], default=@SCHEDULE@,
                   help="step: lr / 10 at 1/2 and 3/4 of the epochs; cosine: to 0 over all steps; onecycle: warm up, then anneal")
    p.add_argument("--augment", choices=["none", "crop", "crop-flip"], default=@AUGMENT@,
                   help="random crop after 2-pixel zero padding (and a horizontal flip with probability 0.5)")
    p.add_argument("--seed", type=int, default=@SEED@)
    p.add_argument("--weights", default=WEIGHTS, help=f"weights to start from (the trained ones always go to {WEIGHTS})")
    p.add_argument("--backend", choices=["gloo", "nccl"], default=None, help="process group backend (default: nccl with CUDA, else gloo)")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--test-limit", type=int, default=None, help="use only the first N test images")
    args = p.parse_args()
    if not os.path.isdir(args.data):
        p.error(f"--data {args.data}: no such folder (give the folder with the IDX files)")
    return args


# ---- Data: IDX files (the format of MNIST and Fashion-MNIST), gzip-compressed or raw

def find_idx(folder, base):
    """The path of an IDX file by its official name, with or without .gz, also in torchvision's raw/ folders."""
    for sub in ("", "FashionMNIST/raw", "MNIST/raw"):
        for name in (base + ".gz", base, base.replace("-idx", ".idx")):
            path = os.path.join(folder, sub, name)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(f"{base}[.gz] not found in {folder}")


def read_idx(path):
    """An IDX file as a uint8 tensor of its dimensions."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim :]), dtype=torch.uint8).reshape(dims)


class IdxImages(Dataset):
    """Images in [0, 1] as [C, H, W] float tensors with their labels; augment(image) runs before normalising."""

    def __init__(self, folder, split, augment=None):
        prefix = "train" if split == "train" else "t10k"
        self.images = read_idx(find_idx(folder, f"{prefix}-images-idx3-ubyte"))
        self.labels = read_idx(find_idx(folder, f"{prefix}-labels-idx1-ubyte")).long()
        if len(self.images) != len(self.labels):
            raise ValueError(f"{folder}: {len(self.images)} {split} images but {len(self.labels)} labels")
        shape = (1, *self.images.shape[1:])
        if shape != INPUT_SHAPE:
            raise ValueError(f"{folder}: images are {shape} but the model was trained on {INPUT_SHAPE}")
        self.augment = augment
        self.mean = torch.tensor(MEAN).view(-1, 1, 1)
        self.std = torch.tensor(STD).view(-1, 1, 1)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = self.images[i].unsqueeze(0).float() / 255
        if self.augment is not None:
            image = self.augment(image)
        return (image - self.mean) / self.std, self.labels[i]


def make_augment(kind):
    """convkit's augmentation: a random crop of the image padded by 2 zero pixels, then an optional flip."""
    if kind == "none":
        return None

    def augment(image):
        _, h, w = image.shape
        padded = F.pad(image, (2, 2, 2, 2))
        top, left = torch.randint(0, 5, (2,)).tolist()
        image = padded[:, top : top + h, left : left + w]
        if kind == "crop-flip" and torch.rand(()) < 0.5:
            image = image.flip(-1)
        return image

    return augment


# ---- Optimizer and schedule, as convkit builds them (src/train/setup.ts)

def make_optimizer(args, params):
    if args.optimizer == "sgd":
        return torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    if args.optimizer == "adam":
        return torch.optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    return torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)


def read_meta():
    with open(os.path.join(HERE, "convkit.json")) as f:
        return json.load(f)


def write_meta(meta):
    """Replace convkit.json atomically (a crash leaves the old one)."""
    path = os.path.join(HERE, "convkit.json")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def load_optimizer_state(args, optimizer, model):
    """Continue the saved optimizer state (keys "<parameter name>.<state key>") if it is of the same optimizer."""
    recorded = read_meta().get("optimizerState")
    if not recorded or not os.path.exists(OPTIMIZER_STATE):
        return "fresh optimizer state (none saved)"
    if recorded["optimizer"] != args.optimizer:
        return f"fresh optimizer state (the saved one is {recorded['optimizer']}'s)"
    saved = load_safetensors(OPTIMIZER_STATE)
    for name, param in model.named_parameters():
        state = {key: saved[f"{name}.{key}"].to(param.device)
                 for key in ("step", "exp_avg", "exp_avg_sq", "momentum_buffer") if f"{name}.{key}" in saved}
        if state:
            optimizer.state[param] = state
    return f"optimizer state continued from {os.path.basename(OPTIMIZER_STATE)}"


def optimizer_state_tensors(optimizer, model):
    """The optimizer's per-parameter tensors by "<parameter name>.<state key>" (what load_optimizer_state reads)."""
    tensors = {}
    for name, param in model.named_parameters():
        for key, value in optimizer.state.get(param, {}).items():
            if torch.is_tensor(value):
                tensors[f"{name}.{key}"] = value.float() if key == "step" else value
    return tensors


def make_schedule(args, optimizer, steps_per_epoch):
    """The scheduler and whether it steps after every batch (True) or every epoch (False)."""
    epochs = args.epochs
    if args.schedule == "step":
        milestones = sorted({max(1, round(epochs / 2)), max(1, round(3 * epochs / 4))})
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1), False
    if args.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch), True
    if args.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=epochs, steps_per_epoch=steps_per_epoch), True
    return None, False


# ---- Training and evaluation

def all_sum(values, device):
    """Sum numbers over every process (each process saw a different part of the data)."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def train_one_epoch(model, loader, optimizer, scheduler, per_batch, device):
    model.train()
    loss_sum, correct, count = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # DDP averages the gradients of all processes here
        optimizer.step()
        if scheduler is not None and per_batch:
            scheduler.step()
        loss_sum += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        count += len(labels)
    return all_sum([loss_sum, correct, count], device)


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
        correct += (logits.argmax(1) == labels).sum().item()
        count += len(labels)
    return all_sum([loss_sum, correct, count], device)


def append_run(history, args, world_size, backend, device):
    """Record this run in convkit.json for convkit import, and whose state optimizer.safetensors now holds."""
    meta = read_meta()
    meta["optimizerState"] = {"file": os.path.basename(OPTIMIZER_STATE), "optimizer": args.optimizer}
    meta["pytorch"]["runs"].append({
        "worldSize": world_size,
        "backend": backend,
        "device": str(device),
        "torchVersion": torch.__version__,
        "finishedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "startedFrom": os.path.abspath(args.weights),
        "history": history,
    })
    write_meta(meta)


def main():
    args = parse_args()
    # torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; plain "python train_ddp.py" runs as a group of one.
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    use_cuda = torch.cuda.is_available()
    backend = args.backend or ("nccl" if use_cuda else "gloo")
    dist.init_process_group(backend, rank=rank, world_size=world_size)
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed + rank)  # different augmentation draws on every process
    if args.batch_size % world_size != 0:
        raise SystemExit(f"--batch-size {args.batch_size} must be divisible by the number of processes ({world_size})")

    train_set = IdxImages(args.data, "train", make_augment(args.augment))
    test_set = IdxImages(args.data, "test")
    if args.train_limit is not None:
        train_set = Subset(train_set, range(min(args.train_limit, len(train_set))))
    if args.test_limit is not None:
        test_set = Subset(test_set, range(min(args.test_limit, len(test_set))))
    # Each process trains on its own 1/world_size of every epoch's shuffled order, with batch_size/world_size
    # images per step: together one step sees the global batch, so the learning rate means what it meant in convkit.
    sampler = DistributedSampler(train_set, num_replicas=world_size, rank=rank, shuffle=True, seed=args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size // world_size, sampler=sampler)
    # Every process evaluates every world_size-th test image (no padding, so each image counts exactly once).
    test_part = Subset(test_set, range(rank, len(test_set), world_size))
    test_loader = DataLoader(test_part, batch_size=256)

    model = create_model()
    model.load_state_dict(load_safetensors(args.weights))  # strict: every key and shape must match
    model.to(device)
    ddp_model = DistributedDataParallel(model, device_ids=[local_rank] if use_cuda else None,
                                        find_unused_parameters=FIND_UNUSED_PARAMETERS)
    optimizer = make_optimizer(args, ddp_model.parameters())
    optimizer_note = load_optimizer_state(args, optimizer, model)
    scheduler, per_batch = make_schedule(args, optimizer, len(train_loader))
    if rank == 0:
        print(f"{world_size} process(es), {backend} on {device}: {len(train_set)} train / {len(test_set)} test images, "
              f"{args.optimizer} lr {args.lr}, schedule {args.schedule}, augment {args.augment}, batch {args.batch_size}; {optimizer_note}", flush=True)

    history = []
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)  # a new shuffle every epoch, the same on every process
        start = time.time()
        train_loss, train_correct, train_count = train_one_epoch(ddp_model, train_loader, optimizer, scheduler, per_batch, device)
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None and not per_batch:
            scheduler.step()
        train_seconds = time.time() - start
        # BatchNorm running statistics are per process; DDP copies rank 0's into the others before each training
        # step, but the last step updated each process's own. Take rank 0's (the ones saved) before evaluating.
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)
        test_loss, test_correct, test_count = evaluate(model, test_loader, device)
        seconds = time.time() - start
        history.append({
            "epoch": epoch, "trainLoss": train_loss / train_count, "trainAccuracy": train_correct / train_count,
            "testLoss": test_loss / test_count, "testAccuracy": test_correct / test_count, "testCount": int(test_count),
            "lr": lr, "seconds": seconds, "imagesPerSecond": train_count / train_seconds,
        })
        if rank == 0:
            print(f"epoch {epoch}/{args.epochs}: train loss {train_loss / train_count:.4f} accuracy {100 * train_correct / train_count:.2f}%, "
                  f"test loss {test_loss / test_count:.4f} accuracy {100 * test_correct / test_count:.2f}% "
                  f"({int(test_correct)}/{int(test_count)}), {seconds:.1f} s", flush=True)

    if rank == 0:
        save_safetensors(model.state_dict(), WEIGHTS, metadata={"format": "pt", "producer": "convkit train_ddp.py"})
        save_safetensors(optimizer_state_tensors(optimizer, model), OPTIMIZER_STATE, metadata={"optimizer": args.optimizer})
        append_run(history, args, world_size, backend, device)
        print(f"wrote {WEIGHTS}, {os.path.basename(OPTIMIZER_STATE)} and the run's results in convkit.json", flush=True)
    dist.barrier()  # nobody exits before rank 0 has written the weights
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
`;

// ---------------------------------------------------------------------------------------------------------------
// export and import

/** The IDX folder the run read, when there is one on this machine (the default of train_ddp.py's --data). */
function idxDataDir(ds: NonNullable<CheckpointMeta['dataset']>, settings: { dataDir?: string } | undefined): string | null {
  if (ds.name !== 'fashion-mnist' && ds.name !== 'mnist' && ds.name !== 'fashion-mnist-subset') return null;
  const candidates: string[] = [];
  if (ds.name === 'fashion-mnist-subset') candidates.push(embeddedSubsetDir());
  if (settings?.dataDir) candidates.push(settings.dataDir);
  const inParens = /\(([^()]+)\)\s*$/.exec(ds.source ?? '');
  if (inParens) candidates.push(inParens[1]!);
  if (ds.source?.startsWith('embedded')) candidates.push(embeddedSubsetDir());
  for (const dir of candidates) {
    const abs = resolve(dir);
    if (existsSync(abs) && statSync(abs).isDirectory() && readdirSync(abs).some((f) => f.startsWith('t10k-images'))) return abs;
  }
  return null;
}

/** PyTorch's per-parameter state keys for convkit's (Adam's `maxExpAvgSq` is left out: the CLI never sets amsgrad). */
const OPTIMIZER_STATE_KEYS: Record<string, string> = { momentumBuffer: 'momentum_buffer', expAvg: 'exp_avg', expAvgSq: 'exp_avg_sq' };

/**
 * A convkit optimizer state dict (one group over `net.parameters()`, as the CLI builds it) as PyTorch per-parameter
 * state keyed by parameter name: `features.0.weight.exp_avg`, `features.0.weight.step` (a float32 scalar, the
 * type PyTorch 1.12+ keeps). Null when there is nothing to carry over.
 */
export function optimizerStateTensors(net: Module, optimizerState: unknown): Map<string, SafetensorsInput> | null {
  const sd = optimizerState as { state?: Record<string, Record<string, unknown>> } | null;
  if (!sd || typeof sd.state !== 'object' || sd.state === null) return null;
  const params = [...net.namedParameters()];
  const out = new Map<string, SafetensorsInput>();
  for (const [index, state] of Object.entries(sd.state)) {
    const param = params[Number(index)];
    if (!param) throw new PytorchExportError(`the optimizer state has an entry for parameter ${index}, but the model has ${params.length} parameters`);
    const [name, p] = param;
    for (const [key, value] of Object.entries(state)) {
      if (key === 'step' && typeof value === 'number') out.set(`${name}.step`, { data: Float32Array.of(value), shape: [] });
      const torchKey = OPTIMIZER_STATE_KEYS[key];
      if (torchKey && value instanceof Float32Array) {
        if (value.length !== p.numel) throw new PytorchExportError(`optimizer state ${index}.${key} has ${value.length} values, parameter ${name} has ${p.numel}`);
        out.set(`${name}.${torchKey}`, { data: value, shape: p.shape });
      }
    }
  }
  return out.size > 0 ? out : null;
}

function asOptimizerName(name: string | undefined): TrainDefaults['optimizer'] {
  return name === 'adam' || name === 'adamw' ? name : 'sgd';
}

export interface PytorchExportResult {
  dir: string;
  files: string[];
  className: string;
}

/**
 * Write the PyTorch folder for a checkpoint and its rebuilt model (`net`, weights loaded). `checkpointDir` is
 * recorded for the reader. Throws PytorchExportError for a model with a layer that has no PyTorch form.
 */
export async function exportPytorchFolder(ck: Checkpoint, net: Module, outDir: string, checkpointDir = ''): Promise<PytorchExportResult> {
  const ds = ck.meta.dataset;
  if (!ds) throw new PytorchExportError('the checkpoint does not record its dataset (input shape, classes); it cannot be exported');
  const name = ck.meta.model.name;
  const info = models.list().find((m) => m.name === name);
  const { source, className, unusedParameters } = pytorchModelSource(net, {
    modelName: name, ...(info ? { description: info.description } : {}),
    origin: `convkit checkpoint ${checkpointDir || '(in memory)'}, epoch ${ck.meta.epoch}`,
  });
  const settings = ck.meta.training['settings'] as Record<string, JsonValue> | undefined;
  const hp = ck.meta.optimizer?.hyperparameters ?? {};
  const num = (v: JsonValue | undefined, fallback: number): number => (typeof v === 'number' ? v : fallback);
  const str = (v: JsonValue | undefined, fallback: string): string => (typeof v === 'string' ? v : fallback);
  const optimizer = asOptimizerName(ck.meta.optimizer?.name);
  const scheduleName = str(settings?.['schedule'], ck.meta.scheduler?.name ?? 'none');
  const augment = str(settings?.['augment'], 'none');
  const defaults: TrainDefaults = {
    optimizer,
    lr: num(hp['lr'], optimizer === 'sgd' ? 0.01 : 0.001),
    momentum: num(hp['momentum'], 0),
    weightDecay: num(hp['weightDecay'], 0),
    schedule: (['none', 'step', 'cosine', 'onecycle'] as const).find((s) => s === scheduleName) ?? 'none',
    augment: (['none', 'crop', 'crop-flip'] as const).find((a) => a === augment) ?? 'none',
    batchSize: num(settings?.['batch'], 64),
    epochs: num(settings?.['epochs'], 1),
    seed: num(settings?.['seed'], num(ck.meta.training['seed'], 0)),
    dataDir: idxDataDir(ds, settings as { dataDir?: string } | undefined),
  };
  const meta: PytorchExportMeta = {
    format: PYTORCH_EXPORT_FORMAT,
    version: PYTORCH_EXPORT_VERSION,
    model: ck.meta.model,
    dataset: ds,
    optimizer: ck.meta.optimizer,
    schedule: defaults.schedule,
    training: ck.meta.training,
    convkit: { epoch: ck.meta.epoch, globalStep: ck.meta.globalStep, history: ck.meta.metrics.history, checkpoint: checkpointDir },
    pytorch: { runs: [] },
    optimizerState: null,
  };
  const optimizerTensors = ck.meta.optimizer ? optimizerStateTensors(net, ck.optimizerState) : null;
  if (optimizerTensors) meta.optimizerState = { file: PYTORCH_OPTIMIZER_FILE, optimizer: ck.meta.optimizer!.name };
  const dir = resolve(outDir);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new PytorchExportError(`${outDir} is a file; give a folder for the PyTorch files`);
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, SafetensorsInput>();
  for (const [key, t] of Object.entries(net.stateDict())) tensors.set(key, { data: t.data, shape: t.shape });
  await writeFileAtomic(join(dir, PYTORCH_WEIGHTS_FILE), encodeSafetensors(tensors, { format: 'pt', producer: 'convkit', model: name }));
  await writeFileAtomic(join(dir, PYTORCH_MODEL_FILE), source);
  await writeFileAtomic(join(dir, PYTORCH_TRAIN_FILE), trainDdpSource(meta, defaults, unusedParameters));
  const files = [PYTORCH_WEIGHTS_FILE, PYTORCH_MODEL_FILE, PYTORCH_TRAIN_FILE, PYTORCH_META_FILE];
  if (optimizerTensors) {
    await writeFileAtomic(join(dir, PYTORCH_OPTIMIZER_FILE), encodeSafetensors(optimizerTensors, { producer: 'convkit', optimizer: meta.optimizerState!.optimizer }));
    files.push(PYTORCH_OPTIMIZER_FILE);
  } else {
    // A stale state from an earlier export into this folder must not be continued from.
    rmSync(join(dir, PYTORCH_OPTIMIZER_FILE), { force: true });
  }
  await writeFileAtomic(join(dir, PYTORCH_META_FILE), JSON.stringify(meta, null, 1) + '\n');
  return { dir, files, className };
}

function readExportMeta(dir: string): PytorchExportMeta {
  const path = join(dir, PYTORCH_META_FILE);
  if (!existsSync(path)) throw new PytorchExportError(`${dir} has no ${PYTORCH_META_FILE}: not a folder written by convkit export --format pytorch`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PytorchExportError(`${path} is not valid JSON (${(e as Error).message})`);
  }
  const m = json as Partial<PytorchExportMeta> | null;
  if (!m || m.format !== PYTORCH_EXPORT_FORMAT) throw new PytorchExportError(`${path}: format is not "${PYTORCH_EXPORT_FORMAT}"`);
  if (m.version !== PYTORCH_EXPORT_VERSION) throw new PytorchExportError(`${path} has version ${JSON.stringify(m.version)}; this convkit reads version ${PYTORCH_EXPORT_VERSION}`);
  if (!m.model || typeof m.model.name !== 'string' || !m.dataset || !m.convkit || !m.pytorch || !Array.isArray(m.pytorch.runs)) {
    throw new PytorchExportError(`${path} is missing model, dataset, convkit or pytorch`);
  }
  return m as PytorchExportMeta;
}

export interface PytorchImportResult {
  checkpoint: Checkpoint;
  /** Epochs trained by train_ddp.py runs recorded in convkit.json. */
  pytorchEpochs: number;
  /** The last recorded test accuracy (PyTorch's when there was a run), or null. */
  lastTestAccuracy: number | null;
}

/**
 * Bring a PyTorch folder's weights (after `torchrun train_ddp.py`, or as exported) back as a convkit checkpoint
 * in `outDir`: the model is rebuilt from `convkit.json` and loaded strictly, so a file for another architecture
 * is an error listing the keys. The epochs of the recorded PyTorch runs continue the convkit history.
 */
export async function importPytorchFolder(ptDir: string, outDir: string): Promise<PytorchImportResult> {
  const dir = resolve(ptDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new PytorchExportError(`${ptDir}: no such folder`);
  const meta = readExportMeta(dir);
  const weightsPath = join(dir, PYTORCH_WEIGHTS_FILE);
  if (!existsSync(weightsPath)) throw new PytorchExportError(`${weightsPath} is missing`);
  if (!models.has(meta.model.name)) throw new PytorchExportError(`${PYTORCH_META_FILE}: model '${meta.model.name}' is not in this convkit's registry`);
  const state = stateDictFromSafetensors(new Uint8Array(readFileSync(weightsPath)), weightsPath);
  const net = models.create(meta.model.name, meta.model.config as models.ModelOptions);
  try {
    net.loadStateDict(state);
  } catch (e) {
    throw new PytorchExportError(`${weightsPath} does not fit model '${meta.model.name}': ${(e as Error).message}`);
  }
  const history: EpochMetrics[] = [...meta.convkit.history];
  let epoch = meta.convkit.epoch;
  for (const run of meta.pytorch.runs) {
    for (const e of run.history) {
      epoch += 1;
      history.push({
        epoch, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy, testLoss: e.testLoss, testAccuracy: e.testAccuracy,
        lr: e.lr, seconds: e.seconds, imagesPerSecond: e.imagesPerSecond,
      });
    }
  }
  const last = history.at(-1);
  const runs = meta.pytorch.runs.map((r) => ({ worldSize: r.worldSize, backend: r.backend, device: r.device, torchVersion: r.torchVersion, epochs: r.history.length, finishedAt: r.finishedAt }));
  const checkpoint: Checkpoint = {
    meta: {
      model: meta.model,
      dataset: meta.dataset,
      optimizer: meta.optimizer,
      scheduler: null,
      epoch,
      // PyTorch runs do not count optimizer steps in convkit's sense; the convkit count is kept as it was.
      globalStep: meta.convkit.globalStep,
      rng: null,
      training: { ...meta.training, importedFrom: { format: 'pytorch', dir, runs: runs as unknown as JsonValue } },
      // No best epoch: the weights are the last epoch's, and no other epoch's weights exist here.
      metrics: { history, best: null },
    },
    modelState: net.stateDict(),
    optimizerState: null,
  };
  await saveCheckpoint(outDir, checkpoint);
  const pytorchEpochs = meta.pytorch.runs.reduce((n, r) => n + r.history.length, 0);
  return { checkpoint, pytorchEpochs, lastTestAccuracy: last ? last.testAccuracy : null };
}
