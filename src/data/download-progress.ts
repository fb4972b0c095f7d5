// Prints download events: on a TTY one live line per file (bytes, %, speed), redrawn at most
// 10 times a second; in a pipe or log only the plain lines (start, done, present, extracted).
import type { DownloadEvent } from "./download.ts";

export interface DownloadReporter {
  onProgress(event: DownloadEvent): void;
  /** Ends a live line that is still open (call before printing an error). */
  end(): void;
}

export function downloadReporter(stream: NodeJS.WriteStream = process.stderr): DownloadReporter {
  const tty = stream.isTTY === true;
  let live = false; // a TTY line is drawn and not yet ended
  let lastDraw = 0;
  const line = (text: string): void => {
    if (live) stream.write("\r\x1b[K");
    live = false;
    stream.write(`${text}\n`);
  };
  return {
    onProgress(event) {
      switch (event.kind) {
        case "present":
          line(`  ${event.file}: already present, checksum ok`);
          break;
        case "replace":
          line(`  ${event.file}: the existing file has md5 ${event.got}, expected ${event.expected}; downloading it again`);
          break;
        case "start": {
          const resume = event.resumeFrom > 0 ? ` (resuming at ${formatBytes(event.resumeFrom)})` : "";
          line(`  ${event.file}: downloading ${event.url}${resume}`);
          break;
        }
        case "progress": {
          if (!tty) break;
          const now = performance.now();
          if (now - lastDraw < 100 && event.received !== event.total) break;
          lastDraw = now;
          const size = event.total === null
            ? formatBytes(event.received)
            : `${formatBytes(event.received)} / ${formatBytes(event.total)}  ${((100 * event.received) / event.total).toFixed(0).padStart(3)}%`;
          stream.write(`\r\x1b[K  ${event.file}  ${size}  ${formatBytes(event.bytesPerSecond)}/s`);
          live = true;
          break;
        }
        case "done": {
          const rate = event.seconds > 0 ? `, ${formatBytes(event.bytes / event.seconds)}/s` : "";
          line(`  ${event.file}: ${formatBytes(event.bytes)} in ${event.seconds.toFixed(1)} s${rate}${event.resumed ? " (resumed)" : ""}, checksum ok`);
          break;
        }
        case "extracted":
          line(`  ${event.file}: ${event.files} files in ${event.dir}${event.written < event.files ? ` (${event.files - event.written} already there)` : ""}`);
          break;
      }
    },
    end() {
      if (live) stream.write("\n");
      live = false;
    },
  };
}

/** 1234567 → "1.2 MB" (powers of 1000, as download sizes are usually quoted). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
