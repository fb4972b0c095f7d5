// How much memory a new training run may use: the least of the cgroup's room (v2 memory.max, v1
// memory.limit_in_bytes, less what the group uses apart from reclaimable file cache) and the
// machine's MemAvailable (/proc/meminfo: free memory plus reclaimable cache; os.freemem() where
// there is no /proc). GCRL_MEMORY_LIMIT (bytes, or a number with K, M, G or T: powers of 1024)
// overrides all of it: to keep a run well under what the machine has, and for tests.
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import { join } from "node:path";
import { RunConfigError } from "./run-config-validate.ts";

export interface AvailableMemory {
  bytes: number;
  /** Where the figure comes from, for messages: "MemAvailable in /proc/meminfo", "cgroup limit …". */
  source: string;
}

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "8G", "512M", "1.5G", "1073741824" → bytes; null when it is not such a size. */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(text);
  if (m === null) return null;
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** A field of a "name value" file (memory.stat) or "Name: value kB" file (/proc/meminfo); null when absent. */
function field(text: string | null, name: string): number | null {
  const m = text === null ? null : new RegExp(`^${name}:?\\s+(\\d+)`, "m").exec(text);
  return m === null ? null : Number(m[1]);
}

/** This process's cgroup path in each hierarchy (/proc/self/cgroup): v2 under "", v1 memory under "memory". */
function cgroupPaths(root: string): { v2: string; v1: string } {
  const text = readText(join(root, "proc/self/cgroup")) ?? "";
  const path = (controller: (c: string) => boolean): string => {
    for (const line of text.split("\n")) {
      const m = /^\d+:([^:]*):(.*)$/.exec(line); // "<id>:<controllers>:<path>"
      if (m !== null && controller(m[1]!)) return m[2]!;
    }
    return "/";
  };
  return { v2: path((c) => c === ""), v1: path((c) => c.split(",").includes("memory")) };
}

/** The room left under a cgroup memory limit; null without a limit (or outside any readable cgroup). */
function cgroupRoom(root: string): AvailableMemory | null {
  const { v2, v1 } = cgroupPaths(root);
  const groups = [
    { dir: join(root, "sys/fs/cgroup", v2), limit: "memory.max", usage: "memory.current", cache: "inactive_file" },
    { dir: join(root, "sys/fs/cgroup"), limit: "memory.max", usage: "memory.current", cache: "inactive_file" },
    { dir: join(root, "sys/fs/cgroup/memory", v1), limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes", cache: "total_inactive_file" },
    { dir: join(root, "sys/fs/cgroup/memory"), limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes", cache: "total_inactive_file" },
  ];
  let best: AvailableMemory | null = null;
  for (const g of groups) {
    const limit = Number(readText(join(g.dir, g.limit))?.trim() ?? NaN);
    if (!Number.isFinite(limit) || limit >= 2 ** 60) continue; // "max" or v1's 9223372036854771712: no limit
    const usage = Number(readText(join(g.dir, g.usage))?.trim() ?? 0) || 0;
    const cache = field(readText(join(g.dir, "memory.stat")), g.cache) ?? 0;
    const bytes = Math.max(0, limit - usage + cache);
    if (best === null || bytes < best.bytes) best = { bytes, source: `the cgroup limit (${join(g.dir, g.limit)}: ${formatBytes(limit)}, ${formatBytes(Math.max(0, usage - cache))} in use)` };
  }
  return best;
}

/** MemAvailable from /proc/meminfo, else os.freemem(). */
function machineAvailable(root: string): AvailableMemory {
  const kb = field(readText(join(root, "proc/meminfo")), "MemAvailable");
  return kb !== null ? { bytes: kb * 1024, source: "MemAvailable in /proc/meminfo" } : { bytes: freemem(), source: "os.freemem()" };
}

/**
 * The memory a run may still allocate (see the file header). `root` replaces "/" for the files read
 * (tests give a made-up tree); `env` holds GCRL_MEMORY_LIMIT. A GCRL_MEMORY_LIMIT that is not a size
 * throws a RunConfigError naming it.
 */
export function availableMemory(options: { root?: string; env?: NodeJS.ProcessEnv } = {}): AvailableMemory {
  const root = options.root ?? "/";
  const override = (options.env ?? process.env).GCRL_MEMORY_LIMIT;
  if (override !== undefined && override !== "") {
    const bytes = parseByteSize(override);
    if (bytes === null) throw new RunConfigError("GCRL_MEMORY_LIMIT", [`expected a size such as 8G, 512M or a number of bytes, got '${override}'`]);
    return { bytes, source: "GCRL_MEMORY_LIMIT" };
  }
  const machine = machineAvailable(root);
  const cgroup = cgroupRoom(root);
  return cgroup !== null && cgroup.bytes < machine.bytes ? cgroup : machine;
}

/** 1536 → "1.5 KiB"; 3.2e9 → "3.0 GiB" (powers of 1024, one decimal). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[i]}`;
}
