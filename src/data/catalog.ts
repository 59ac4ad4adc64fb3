/**
 * The built-in IDX datasets: their class names, file names, sizes, official download locations and
 * checksums. Browser-safe (no file access): the Node loader (src/node/datasets.ts) and the app both read it.
 */

export type BuiltinDatasetName = 'fashion-mnist' | 'mnist';
export type Split = 'train' | 'test';

/** One file of a split: its name (without .gz) and the md5 of the official .gz download. */
export interface IdxFileInfo {
  /** e.g. `train-images-idx3-ubyte`; the official download is this name + `.gz`. */
  baseName: string;
  /** md5 of the official `.gz` file (what a download is checked against). */
  gzMd5: string;
}

export interface SplitInfo {
  count: number;
  images: IdxFileInfo;
  labels: IdxFileInfo;
}

export interface BuiltinDatasetInfo {
  name: BuiltinDatasetName;
  title: string;
  classNames: readonly string[];
  channels: 1;
  height: 28;
  width: 28;
  splits: Record<Split, SplitInfo>;
  /** Base URLs tried in order for downloads (file name + `.gz` is appended). */
  mirrors: readonly string[];
  /** Where a Debian package installs the files, if one exists. */
  debianDir: string | null;
  license: string;
  citation: string;
}

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);

export const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

export const FASHION_MNIST: BuiltinDatasetInfo = Object.freeze({
  name: 'fashion-mnist',
  title: 'Fashion-MNIST',
  classNames: FASHION_MNIST_CLASSES,
  channels: 1,
  height: 28,
  width: 28,
  splits: {
    train: {
      count: 60000,
      images: { baseName: 'train-images-idx3-ubyte', gzMd5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d' },
      labels: { baseName: 'train-labels-idx1-ubyte', gzMd5: '25c81989df183df01b3e8a0aad5dffbe' },
    },
    test: {
      count: 10000,
      images: { baseName: 't10k-images-idx3-ubyte', gzMd5: 'bef4ecab320f06d8554ea6380940ec79' },
      labels: { baseName: 't10k-labels-idx1-ubyte', gzMd5: 'bb300cfdad3c16e7a12a480ee83cd310' },
    },
  },
  mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
  debianDir: '/usr/share/datasets/fashion-mnist',
  license: 'MIT (Copyright 2017 Zalando SE)',
  citation: 'Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.',
});

export const MNIST: BuiltinDatasetInfo = Object.freeze({
  name: 'mnist',
  title: 'MNIST',
  classNames: MNIST_CLASSES,
  channels: 1,
  height: 28,
  width: 28,
  splits: {
    train: {
      count: 60000,
      images: { baseName: 'train-images-idx3-ubyte', gzMd5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873' },
      labels: { baseName: 'train-labels-idx1-ubyte', gzMd5: 'd53e105ee54ea40749a09fcbcd1e9432' },
    },
    test: {
      count: 10000,
      images: { baseName: 't10k-images-idx3-ubyte', gzMd5: '9fb629c4189551a2d022fa330f9573f3' },
      labels: { baseName: 't10k-labels-idx1-ubyte', gzMd5: 'ec29112dd5afa0611ce80d1b7f02629c' },
    },
  },
  mirrors: ['https://storage.googleapis.com/cvdf-datasets/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/'],
  debianDir: null,
  license: 'Yann LeCun and Corinna Cortes hold the copyright of MNIST; made available under CC BY-SA 3.0',
  citation: 'Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document recognition. Proc. IEEE 86(11), 1998.',
});

export const BUILTIN_DATASETS: Readonly<Record<BuiltinDatasetName, BuiltinDatasetInfo>> = Object.freeze({
  'fashion-mnist': FASHION_MNIST,
  mnist: MNIST,
});

/** Size of the real Fashion-MNIST subset shipped in the package (data/fashion-mnist-subset). */
export const EMBEDDED_SUBSET = Object.freeze({ train: 2000, test: 1000 });

export function isBuiltinDatasetName(name: string): name is BuiltinDatasetName {
  return name === 'fashion-mnist' || name === 'mnist';
}
