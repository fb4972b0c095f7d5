// Dataset readers: every one returns an ImageSet (uint8 (N, H, W, C) images, int64 labels or null).
export { loadDataset, datasetInfo, defaultPaletteSize, folderOf, specImageShape, DATASET_NAMES, type DatasetSpec, type DatasetSplit, type DatasetInfo } from "./registry.ts";
export { DatasetError } from "./dataset-error.ts";
export { loadIdxPair, readIdx, readIdxImages, readIdxLabels, readMaybeGzip, findIdxPair, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxDatasetOptions } from "./idx.ts";
export { loadFashionMnist, fashionMnistDefaultDir, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, FASHION_MNIST_DOWNLOAD_DIR } from "./fashion-mnist.ts";
export { loadMnist, MNIST_CLASSES, MNIST_DIR } from "./mnist.ts";
export { loadMnistDigits, MNIST_DIGITS_CLASSES, type MnistDigitsSplit } from "./mnist-digits.ts";
export { loadCifar10, loadCifar100, readCifarBinary, CIFAR10_DIR, CIFAR100_DIR, CIFAR10_CLASSES, CIFAR100_FINE_CLASSES, CIFAR100_COARSE_CLASSES, type CifarOptions, type Cifar100Options } from "./cifar.ts";
export { loadImageFolder, IMAGE_EXTENSIONS, type ImageFolderOptions } from "./image-folder.ts";
export { concatSets } from "./concat-sets.ts";
export { convertImages, type ConvertOptions } from "./convert-images.ts";
