// availableMemory (src/train/available-memory.ts) on made-up /proc and /sys trees: a cgroup v2 or v1
// limit (less what the group uses apart from inactive file cache), no limit (MemAvailable), the
// tighter of the two, the GCRL_MEMORY_LIMIT override; and parseByteSize / formatBytes.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { availableMemory, formatBytes, parseByteSize } from "../../src/train/available-memory.ts";
import { RunConfigError } from "../../src/train/run-config-validate.ts";
import { tempFolder } from "./trainer-fixtures.ts";

const tmp = tempFolder("available-memory");
after(() => tmp.cleanup());
const GiB = 1024 ** 3;
let trees = 0;

/** A root with /proc/meminfo (MemAvailable 8 GiB) and the given files (path relative to the root → content). */
function tree(files: Record<string, string>): string {
  const root = join(tmp.dir, `t${trees++}`);
  const all: Record<string, string> = { "proc/meminfo": `MemTotal: 16777216 kB\nMemFree: 1048576 kB\nMemAvailable: ${8 * 1024 * 1024} kB\n`, ...files };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}
const env = {};

test("no cgroup limit: MemAvailable from /proc/meminfo", () => {
  const root = tree({ "proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.max": "max\n" });
  assert.deepEqual(availableMemory({ root, env }), { bytes: 8 * GiB, source: "MemAvailable in /proc/meminfo" });
});

test("cgroup v2: the limit of the process's group, less its use apart from inactive file cache", () => {
  const root = tree({
    "proc/self/cgroup": "0::/job\n",
    "sys/fs/cgroup/job/memory.max": `${4 * GiB}\n`,
    "sys/fs/cgroup/job/memory.current": `${1.5 * GiB}\n`,
    "sys/fs/cgroup/job/memory.stat": `anon 100\ninactive_file ${0.5 * GiB}\nactive_file 7\n`,
  });
  const a = availableMemory({ root, env });
  assert.equal(a.bytes, 3 * GiB);
  assert.match(a.source, /cgroup limit \(.*job\/memory\.max: 4\.0 GiB, 1\.0 GiB in use\)/);
});

test("cgroup v1: memory.limit_in_bytes; v1's 'no limit' value is no limit; a limit above MemAvailable does not count", () => {
  const limited = tree({
    "proc/self/cgroup": "4:memory:/job\n0::/\n",
    "sys/fs/cgroup/memory/job/memory.limit_in_bytes": `${2 * GiB}\n`,
    "sys/fs/cgroup/memory/job/memory.usage_in_bytes": `${GiB}\n`,
    "sys/fs/cgroup/memory/job/memory.stat": "total_inactive_file 0\n",
  });
  assert.equal(availableMemory({ root: limited, env }).bytes, GiB);
  const unlimited = tree({ "proc/self/cgroup": "4:memory:/job\n", "sys/fs/cgroup/memory/job/memory.limit_in_bytes": "9223372036854771712\n" });
  assert.equal(availableMemory({ root: unlimited, env }).source, "MemAvailable in /proc/meminfo");
  const loose = tree({ "proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.max": `${64 * GiB}\n`, "sys/fs/cgroup/memory.current": "0\n" });
  assert.equal(availableMemory({ root: loose, env }).bytes, 8 * GiB);
});

test("GCRL_MEMORY_LIMIT overrides; a malformed one is a RunConfigError naming it", () => {
  const root = tree({});
  assert.deepEqual(availableMemory({ root, env: { GCRL_MEMORY_LIMIT: "1.5G" } }), { bytes: 1.5 * GiB, source: "GCRL_MEMORY_LIMIT" });
  assert.throws(() => availableMemory({ root, env: { GCRL_MEMORY_LIMIT: "lots" } }), (err: unknown) => err instanceof RunConfigError && /^GCRL_MEMORY_LIMIT: expected a size such as 8G/.test(err.message));
});

test("parseByteSize and formatBytes", () => {
  assert.equal(parseByteSize("1073741824"), GiB);
  assert.equal(parseByteSize("512M"), 512 * 1024 ** 2);
  assert.equal(parseByteSize("2GiB"), 2 * GiB);
  assert.equal(parseByteSize("1t"), 1024 * GiB);
  assert.equal(parseByteSize("-1G"), null);
  assert.equal(parseByteSize("G"), null);
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(3.25 * GiB), "3.3 GiB");
});
