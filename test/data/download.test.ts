// `gcrl data download` against a real HTTP server on 127.0.0.1 that serves fixture files made
// here: normal, truncated + resumed, Range ignored, checksum mismatch, 404, already present,
// stalled connection, tar.gz extraction (with path traversal refused). Plus the real manifests'
// exact checksums, checked against the Debian Fashion-MNIST files when installed. No test contacts
// anything but 127.0.0.1.
import { test, describe, before, after, beforeEach, afterEach, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  DATASET_MANIFESTS, DownloadError, downloadDataset, md5OfGunzipped, type DownloadEvent, type DownloadErrorKind, type ManifestFile,
} from "../../src/data/download.ts";
import { readTar, TarError } from "../../src/data/download-tar.ts";
import { run as runDownloadCommand } from "../../src/cli/data-download.ts";

const md5 = (data: Buffer): string => createHash("md5").update(data).digest("hex");

// ---------------------------------------------------------------------------------------------
// The fixture server.

type Behaviour =
  | { kind: "normal" }
  | { kind: "truncate"; after: number } // sends the full Content-Length, closes the connection after `after` bytes
  | { kind: "ignore-range" } // always 200 with the whole file
  | { kind: "stall"; after: number }; // sends `after` bytes, then nothing

interface Fixture {
  server: Server;
  baseUrl: string;
  files: Map<string, Buffer>;
  /** Every request: path and Range header. */
  requests: { path: string; range: string | undefined }[];
  behaviour: Behaviour;
}

const fx = {} as Fixture;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/files\//, "");
  fx.requests.push({ path, range: req.headers.range });
  const body = fx.files.get(path);
  if (body === undefined) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    return;
  }
  const b = fx.behaviour;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  if (range && b.kind !== "ignore-range") {
    const start = Number(range[1]);
    if (start >= body.length) {
      res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, { "content-length": body.length - start, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
  if (b.kind === "truncate") {
    res.write(body.subarray(0, b.after), () => res.socket?.destroy());
  } else if (b.kind === "stall") {
    res.write(body.subarray(0, b.after));
  } else {
    res.end(body);
  }
}

before(async () => {
  fx.files = new Map();
  fx.requests = [];
  fx.behaviour = { kind: "normal" };
  fx.server = createServer(handle);
  await new Promise<void>((resolve) => fx.server.listen(0, "127.0.0.1", resolve));
  fx.baseUrl = `http://127.0.0.1:${(fx.server.address() as AddressInfo).port}/files/`;
});

after(async () => {
  fx.server.closeAllConnections();
  await new Promise<void>((resolve) => fx.server.close(() => resolve()));
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "gcrl-download-"));
  fx.files.clear();
  fx.requests.length = 0;
  fx.behaviour = { kind: "normal" };
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Serves `data` as `name` and returns its manifest entry. */
function serve(name: string, data: Buffer, extra: Partial<ManifestFile> = {}): ManifestFile {
  fx.files.set(name, data);
  return { name, md5: md5(data), ...extra };
}

function download(files: ManifestFile[], events: DownloadEvent[] = [], idleTimeoutMs?: number) {
  return downloadDataset("fashion-mnist", dir, { baseUrl: fx.baseUrl, manifest: { files }, onProgress: (e) => events.push(e), idleTimeoutMs });
}

async function rejectsWith(promise: Promise<unknown>, kind: DownloadErrorKind, ...patterns: (string | RegExp)[]): Promise<string> {
  let message = "";
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DownloadError, `expected a DownloadError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    for (const p of patterns) {
      if (typeof p === "string") assert.ok(err.message.includes(p), `'${err.message}' should contain '${p}'`);
      else assert.match(err.message, p);
    }
    message = err.message;
    return true;
  });
  return message;
}

const exists = (path: string): boolean => existsSync(path);

/** Silences what the command prints (its exit code and effects are checked instead). */
function quiet(t: TestContext): void {
  t.mock.method(console, "error", () => {});
  t.mock.method(process.stderr, "write", () => true);
}

// ---------------------------------------------------------------------------------------------

describe("downloadDataset over HTTP", () => {
  test("downloads every file, verifies it and leaves no .part", async () => {
    const a = randomBytes(150_000);
    const b = randomBytes(1_000);
    const events: DownloadEvent[] = [];
    const result = await download([serve("a.bin", a), serve("b.bin", b)], events);
    assert.deepEqual(result.files.map((f) => [f.name, f.status]), [["a.bin", "downloaded"], ["b.bin", "downloaded"]]);
    assert.ok((await readFile(join(dir, "a.bin"))).equals(a));
    assert.ok((await readFile(join(dir, "b.bin"))).equals(b));
    assert.deepEqual((await readdir(dir)).sort(), ["a.bin", "b.bin"]);
    assert.deepEqual(fx.requests, [{ path: "a.bin", range: undefined }, { path: "b.bin", range: undefined }]);
    const kinds = new Set(events.map((e) => e.kind));
    assert.ok(kinds.has("start") && kinds.has("progress") && kinds.has("done"), [...kinds].join(","));
    const last = events.filter((e) => e.kind === "progress" && e.file === "a.bin").at(-1);
    assert.deepEqual(last && last.kind === "progress" ? [last.received, last.total] : null, [150_000, 150_000]);
  });

  test("a truncated download keeps the .part; the next run resumes it with a Range request", async () => {
    const data = randomBytes(200_000);
    const file = serve("train.gz", data);
    fx.behaviour = { kind: "truncate", after: 70_000 };
    await rejectsWith(download([file]), "truncated", `${fx.baseUrl}train.gz`, "train.gz.part is kept", "re-run");
    assert.equal((await stat(join(dir, "train.gz.part"))).size, 70_000);
    assert.ok(!exists(join(dir, "train.gz")));

    fx.behaviour = { kind: "normal" };
    fx.requests.length = 0;
    const result = await download([file]);
    assert.equal(result.files[0]!.status, "resumed");
    assert.deepEqual(fx.requests, [{ path: "train.gz", range: "bytes=70000-" }]);
    assert.ok((await readFile(join(dir, "train.gz"))).equals(data));
    assert.ok(!exists(join(dir, "train.gz.part")));
  });

  test("a server that ignores Range (200) makes the download start over", async () => {
    const data = randomBytes(50_000);
    await writeFile(join(dir, "x.bin.part"), Buffer.alloc(1_000, 0xaa)); // not even a prefix of the file
    fx.behaviour = { kind: "ignore-range" };
    const result = await download([serve("x.bin", data)]);
    assert.equal(result.files[0]!.status, "downloaded");
    assert.deepEqual(fx.requests, [{ path: "x.bin", range: "bytes=1000-" }]);
    assert.ok((await readFile(join(dir, "x.bin"))).equals(data));
    assert.ok(!exists(join(dir, "x.bin.part")));
  });

  test("a .part that already holds the whole file (416) is verified and kept", async () => {
    const data = randomBytes(10_000);
    await writeFile(join(dir, "y.bin.part"), data);
    const result = await download([serve("y.bin", data)]);
    assert.equal(result.files[0]!.status, "resumed");
    assert.deepEqual(fx.requests, [{ path: "y.bin", range: "bytes=10000-" }]);
    assert.ok((await readFile(join(dir, "y.bin"))).equals(data));
  });

  test("a checksum mismatch names the file and both checksums, and leaves neither file nor .part", async () => {
    const data = randomBytes(20_000);
    const wrong = "0123456789abcdef0123456789abcdef";
    serve("bad.bin", data);
    await rejectsWith(download([{ name: "bad.bin", md5: wrong }]), "checksum", "bad.bin", `expected md5 ${wrong}`, `got ${md5(data)}`);
    assert.deepEqual(await readdir(dir), []);
  });

  test("an HTTP error names the URL and the status", async () => {
    await rejectsWith(download([{ name: "missing.gz", md5: "0".repeat(32) }]), "http", `${fx.baseUrl}missing.gz`, "HTTP 404");
    assert.deepEqual(await readdir(dir), []);
  });

  test("a file already present with the right checksum is not requested again", async () => {
    const data = randomBytes(5_000);
    await writeFile(join(dir, "have.bin"), data);
    const events: DownloadEvent[] = [];
    const result = await download([serve("have.bin", data)], events);
    assert.equal(result.files[0]!.status, "present");
    assert.deepEqual(fx.requests, []);
    assert.deepEqual(events.map((e) => e.kind), ["present"]);
  });

  test("a file present with the wrong checksum is downloaded again", async () => {
    const data = randomBytes(5_000);
    await writeFile(join(dir, "stale.bin"), randomBytes(5_000));
    const events: DownloadEvent[] = [];
    const result = await download([serve("stale.bin", data)], events);
    assert.equal(result.files[0]!.status, "downloaded");
    assert.equal(events[0]!.kind, "replace");
    assert.ok((await readFile(join(dir, "stale.bin"))).equals(data));
  });

  test("a stalled connection times out, keeping the .part", async () => {
    const file = serve("slow.bin", randomBytes(100_000));
    fx.behaviour = { kind: "stall", after: 30_000 };
    await rejectsWith(download([file], [], 300), "truncated", "no data for 0.3 s", "slow.bin.part is kept");
    assert.equal((await stat(join(dir, "slow.bin.part"))).size, 30_000);
    fx.server.closeAllConnections();
  });
});

// ---------------------------------------------------------------------------------------------
// tar.gz archives.

/** One ustar entry (header + data padded to 512 bytes). */
function tarEntry(name: string, data: Buffer = Buffer.alloc(0), type = "0", linkname = ""): Buffer {
  const h = Buffer.alloc(512);
  const octal = (at: number, width: number, value: number): void => {
    h.write(`${value.toString(8).padStart(width - 1, "0")}\0`, at, width, "ascii");
  };
  h.write(name, 0, 100, "utf8");
  octal(100, 8, type === "5" ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, data.length);
  octal(136, 12, 1_700_000_000);
  h.fill(0x20, 148, 156);
  h.write(type, 156, 1, "ascii");
  h.write(linkname, 157, 100, "utf8");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return Buffer.concat([h, padded]);
}

const tarOf = (...entries: Buffer[]): Buffer => Buffer.concat([...entries, Buffer.alloc(1024)]);

describe("archives", () => {
  test("a .tar.gz is verified, then extracted into the directory; a second run writes nothing", async () => {
    const batch = randomBytes(3_073 * 3);
    const meta = Buffer.from("airplane\nautomobile\n");
    const archive = gzipSync(tarOf(
      tarEntry("set-bin/", undefined, "5"),
      tarEntry("set-bin/data_batch_1.bin", batch),
      tarEntry("./set-bin/meta/names.txt", meta),
    ));
    const file = serve("set.tar.gz", archive, { extract: true });
    const events: DownloadEvent[] = [];
    const result = await download([file], events);
    assert.deepEqual(result.files[0]!.extracted, ["set-bin/data_batch_1.bin", "set-bin/meta/names.txt"]);
    assert.ok((await readFile(join(dir, "set-bin", "data_batch_1.bin"))).equals(batch));
    assert.ok((await readFile(join(dir, "set-bin", "meta", "names.txt"))).equals(meta));
    assert.ok(events.some((e) => e.kind === "extracted" && e.files === 2 && e.written === 2));

    events.length = 0;
    fx.requests.length = 0;
    const again = await download([file], events);
    assert.equal(again.files[0]!.status, "present");
    assert.deepEqual(fx.requests, []);
    assert.ok(events.some((e) => e.kind === "extracted" && e.files === 2 && e.written === 0));
  });

  test("an entry that would escape the directory is refused and nothing is extracted", async () => {
    const inner = join(dir, "inner");
    await mkdir(inner);
    const archive = gzipSync(tarOf(tarEntry("good.txt", Buffer.from("fine")), tarEntry("../evil.txt", Buffer.from("pwned"))));
    const file = serve("evil.tar.gz", archive, { extract: true });
    await assert.rejects(
      downloadDataset("cifar10", inner, { baseUrl: fx.baseUrl, manifest: { files: [file] } }),
      (err: unknown) => err instanceof DownloadError && err.kind === "archive" && err.message.includes("'../evil.txt'") && /outside/.test(err.message),
    );
    assert.ok(!exists(join(dir, "evil.txt")));
    assert.ok(!exists(join(inner, "good.txt")), "entries are all checked before any is written");
  });

  test("absolute paths, links and corrupt headers are refused", () => {
    const cases: [Buffer, RegExp][] = [
      [tarOf(tarEntry("/etc/passwd", Buffer.from("x"))), /refusing entry '\/etc\/passwd'.*absolute/],
      [tarOf(tarEntry("a/../../b", Buffer.from("x"))), /refusing entry 'a\/..\/..\/b'.*outside/],
      [tarOf(tarEntry("link", undefined, "2", "/etc/passwd")), /refusing entry 'link': it is a symbolic link/],
      [tarOf(tarEntry("hard", undefined, "1", "x")), /hard link/],
      [(() => { const t = tarOf(tarEntry("f", Buffer.from("x"))); t[0] ^= 1; return t; })(), /checksum mismatch/],
      [tarOf(tarEntry("f", randomBytes(600))).subarray(0, 1024), /truncated archive/],
      [Buffer.alloc(512, 1), /not a ustar archive/],
    ];
    for (const [archive, message] of cases) {
      assert.throws(() => readTar(archive, "test.tar"), (err: unknown) => err instanceof TarError && message.test(err.message) && err.message.startsWith("test.tar: "));
    }
  });

  test("reads what GNU tar writes (ustar, gnu and pax formats, long names)", async (t) => {
    try {
      execFileSync("tar", ["--version"], { stdio: "ignore" });
    } catch {
      t.skip("no tar command");
      return;
    }
    const src = join(dir, "src");
    const long = `${"d".repeat(60)}/${"e".repeat(60)}`;
    await mkdir(join(src, "top", long), { recursive: true });
    const files: Record<string, Buffer> = {
      "top/small.txt": Buffer.from("hello\n"),
      "top/empty.bin": Buffer.alloc(0),
      [`top/${long}/${"f".repeat(90)}.bin`]: randomBytes(1_500), // > 100 characters
    };
    for (const [name, data] of Object.entries(files)) await writeFile(join(src, name), data);
    for (const format of ["ustar", "gnu", "pax"]) {
      const tar = execFileSync("tar", [`--format=${format}`, "-C", src, "-cf", "-", "top"]);
      const entries = readTar(tar, format);
      const got = Object.fromEntries(entries.filter((e) => e.type === "file").map((e) => [e.path, md5(e.data)]));
      const want = Object.fromEntries(Object.entries(files).map(([n, d]) => [n, md5(d)]));
      assert.deepEqual(got, want, format);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The real manifests.

const FASHION_DIR = "/usr/share/datasets/fashion-mnist";

describe("canonical manifests", () => {
  test("have the published URLs and MD5 checksums", () => {
    const table = Object.fromEntries(Object.entries(DATASET_MANIFESTS).map(([name, m]) => [
      name, { baseUrl: m.baseUrl, files: m.files.map((f) => [f.name, f.md5, f.contentMd5 ?? null, f.extract ?? false]) },
    ]));
    assert.deepEqual(table, {
      "fashion-mnist": {
        baseUrl: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        files: [
          ["train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a", false],
          ["train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9", false],
          ["t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a", false],
          ["t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965", false],
        ],
      },
      mnist: {
        baseUrl: "https://ossci-datasets.s3.amazonaws.com/mnist/",
        files: [
          ["train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb", false],
          ["train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624", false],
          ["t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea", false],
          ["t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637", false],
        ],
      },
      cifar10: { baseUrl: "https://www.cs.toronto.edu/~kriz/", files: [["cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", null, true]] },
      cifar100: { baseUrl: "https://www.cs.toronto.edu/~kriz/", files: [["cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8", null, true]] },
    });
  });

  test("Fashion-MNIST: the Debian files hold the published content (re-compressed, so their .gz MD5s differ)", { skip: !existsSync(FASHION_DIR) && `${FASHION_DIR} is not installed` }, async () => {
    for (const file of DATASET_MANIFESTS["fashion-mnist"].files) {
      assert.equal(await md5OfGunzipped(join(FASHION_DIR, file.name)), file.contentMd5, file.name);
    }
  });

  test("`gcrl data download fashion-mnist` accepts copies of the Debian files without a request", { skip: !existsSync(FASHION_DIR) && `${FASHION_DIR} is not installed` }, async (t) => {
    quiet(t);
    for (const file of DATASET_MANIFESTS["fashion-mnist"].files) await copyFile(join(FASHION_DIR, file.name), join(dir, file.name));
    const code = await runDownloadCommand(["fashion-mnist", "--dir", dir, "--base-url", fx.baseUrl]);
    assert.equal(code, 0);
    assert.deepEqual(fx.requests, []);
  });
});

describe("gcrl data download (command line)", () => {
  test("an unknown dataset or option is a usage error (exit 2)", async (t) => {
    quiet(t);
    assert.equal(await runDownloadCommand(["imagenet"]), 2);
    assert.equal(await runDownloadCommand(["mnist", "--bogus"]), 2);
    assert.equal(await runDownloadCommand([]), 2);
    assert.equal(await runDownloadCommand(["mnist", "--base-url", "ftp://x"]), 2);
  });

  test("a failed download exits 1", async (t) => {
    quiet(t);
    const code = await runDownloadCommand(["mnist", "--dir", dir, "--base-url", fx.baseUrl]);
    assert.equal(code, 1);
    assert.deepEqual(fx.requests.map((r) => r.path), ["train-images-idx3-ubyte.gz"]);
  });
});
