// What a Prometheus client reports about its own process that Node does not keep: the number of
// open descriptors and the limit on them (proc(5): /proc/self/fd, /proc/self/limits).
import fs from 'node:fs';

let maxFds: number | null | undefined;

// The soft limit on open descriptors ("Max open files"), read once; null where it cannot be read.
export function maxOpenFds(): number | null {
  if (maxFds === undefined) {
    try {
      const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
      maxFds = m ? Number(m[1]) : null;
    } catch {
      maxFds = null;
    }
  }
  return maxFds;
}

// How many descriptors this process has open now; null where /proc cannot say.
export async function openFdCount(): Promise<number | null> {
  try {
    return (await fs.promises.readdir('/proc/self/fd')).length - 1; // less the one readdir opened
  } catch {
    return null;
  }
}
