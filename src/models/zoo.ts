/**
 * The architecture zoo beyond the reference models: importing this file registers every model below. Classic
 * ImageNet models match torchvision's definitions (same state-dict keys and shapes, same parameter counts);
 * small variants are sized for 28x28 / 32x32 images on a CPU.
 */
export { AlexNet } from './alexnet.js';
export { VGG, VGGSmallBN, VGG_CONFIGS, vggFeatures, type VGGConfig } from './vgg.js';
export { GoogLeNet, Inception, InceptionAux, BasicConv2d, type GoogLeNetOptions, type GoogLeNetOutputs } from './googlenet.js';
export { ResNet, BasicBlock, Bottleneck } from './resnet.js';
export { DenseNet, DenseBlock, DenseLayer, densenetBC, transition, type DenseNetConfig } from './densenet.js';
export { CifarResNet, CifarBasicBlock, zeroPadShortcut, type Shortcut } from './cifar_resnet.js';
export { SmallInception, SmallInceptionModule, DownsampleModule, ConvModule } from './small_inception.js';
export { LCNet } from './lcnet.js';
export { loadWeights, saveWeights, stateDictFromSafetensors, type LoadWeightsOptions } from './weights.js';
