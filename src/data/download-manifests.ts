// What `gcrl data download` fetches: for each dataset its canonical host and files with their
// published MD5 checksums. These are the real, canonical values — tests check them string by string
// (test/data/download.test.ts); a test that needs other files passes its own manifest instead.
//
// Sources:
// * Fashion-MNIST: the dataset's README (github.com/zalandoresearch/fashion-mnist, "Get the Data"),
//   also used by torchvision. `contentMd5` is the MD5 of the gunzipped file as listed by several
//   independent loaders; it matches the Debian package dataset-fashion-mnist, whose .gz files are
//   re-compressed by the packaging (same content, different bytes: no original-name field, a 2020
//   timestamp), so their MD5s differ from the published ones.
// * MNIST: torchvision's mirror of Yann LeCun's files and torchvision's MD5s; `contentMd5` is the
//   widely published MD5 of the uncompressed IDX files.
// * CIFAR-10 / CIFAR-100: the binary versions from the dataset page
//   (www.cs.toronto.edu/~kriz/cifar.html), which lists these MD5s.

export type DatasetName = "fashion-mnist" | "mnist" | "cifar10" | "cifar100";

export interface ManifestFile {
  /** The file name, appended to the base URL and used as the local name. */
  readonly name: string;
  /** MD5 (lower-case hex) of the file as served. */
  readonly md5: string;
  /**
   * MD5 of the gunzipped content, for .gz files. A local file whose own MD5 differs but whose
   * content has this MD5 (e.g. Debian's re-compressed copy) is accepted as present.
   */
  readonly contentMd5?: string;
  /** Extract the file (a .tar.gz) into the target directory after it is verified. */
  readonly extract?: boolean;
}

export interface DatasetManifest {
  /** Base URL ending in "/"; a file's URL is baseUrl + name. */
  readonly baseUrl: string;
  readonly files: readonly ManifestFile[];
  /** One line for --help and the docs. */
  readonly description: string;
}

export const DATASET_MANIFESTS: Readonly<Record<DatasetName, DatasetManifest>> = {
  "fashion-mnist": {
    baseUrl: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    description: "Zalando's Fashion-MNIST, 4 gzipped IDX files (about 30 MB)",
    files: [
      { name: "train-images-idx3-ubyte.gz", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d", contentMd5: "f4a8712d7a061bf5bd6d2ca38dc4d50a" },
      { name: "train-labels-idx1-ubyte.gz", md5: "25c81989df183df01b3e8a0aad5dffbe", contentMd5: "9018921c3c673c538a1fc5bad174d6f9" },
      { name: "t10k-images-idx3-ubyte.gz", md5: "bef4ecab320f06d8554ea6380940ec79", contentMd5: "8181f5470baa50b63fa0f6fddb340f0a" },
      { name: "t10k-labels-idx1-ubyte.gz", md5: "bb300cfdad3c16e7a12a480ee83cd310", contentMd5: "15d484375f8d13e6eb1aabb0c3f46965" },
    ],
  },
  mnist: {
    baseUrl: "https://ossci-datasets.s3.amazonaws.com/mnist/",
    description: "MNIST digits (torchvision's mirror), 4 gzipped IDX files (about 11 MB)",
    files: [
      { name: "train-images-idx3-ubyte.gz", md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873", contentMd5: "6bbc9ace898e44ae57da46a324031adb" },
      { name: "train-labels-idx1-ubyte.gz", md5: "d53e105ee54ea40749a09fcbcd1e9432", contentMd5: "a25bea736e30d166cdddb491f175f624" },
      { name: "t10k-images-idx3-ubyte.gz", md5: "9fb629c4189551a2d022fa330f9573f3", contentMd5: "2646ac647ad5339dbf082846283269ea" },
      { name: "t10k-labels-idx1-ubyte.gz", md5: "ec29112dd5afa0611ce80d1b7f02629c", contentMd5: "27ae3e4e09519cfbb04c329615203637" },
    ],
  },
  cifar10: {
    baseUrl: "https://www.cs.toronto.edu/~kriz/",
    description: "CIFAR-10 binary version (162 MB), extracted to cifar-10-batches-bin/",
    files: [{ name: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530", extract: true }],
  },
  cifar100: {
    baseUrl: "https://www.cs.toronto.edu/~kriz/",
    description: "CIFAR-100 binary version (161 MB), extracted to cifar-100-binary/",
    files: [{ name: "cifar-100-binary.tar.gz", md5: "03b5dce01913d631647c71ecec9e9cb8", extract: true }],
  },
};

export const DATASET_NAMES = Object.keys(DATASET_MANIFESTS) as DatasetName[];

export function isDatasetName(name: string): name is DatasetName {
  return Object.hasOwn(DATASET_MANIFESTS, name);
}
