// What every bench prints beside its figures: the CLI it times (the npm bundle the user runs, as
// `enotconn` from package.json's bin), the machine, and the load average at the moment of a figure
// (other work on a shared machine moves the numbers; the reader can judge).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The bundled CLI (package.json "bin"): what `npm i -g enotconn` puts on the PATH.
export const BUNDLE_CLI = path.join(REPO, 'dist/bundle/enotconn.cjs');

// One line describing this machine.
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

// The 1/5/15-minute load averages, for the line of each figure.
export function load(): string {
  const [a, b, c] = fs.readFileSync('/proc/loadavg', 'utf8').split(' ');
  return `load ${a} ${b} ${c}`;
}

// The median of xs (the mean of the middle two for an even count).
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
