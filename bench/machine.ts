// What every bench prints beside its figures: the CLI it times (the npm bundle the user runs, as
// `enotconn` from package.json's bin), the machine, and the load average at the moment of a figure
// (other work on a shared machine moves the numbers; the reader can judge).
import { spawn } from 'node:child_process';
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
  const ca = process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset';
  return `${cpus.length} cores (${cpus[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}, NODE_EXTRA_CA_CERTS ${ca}`;
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

// Run this bench once more with NODE_EXTRA_CA_CERTS removed, when it is set, so one command prints
// both figures. Why: with it set, every Node start (`node -e 0` included) reads and parses that CA
// bundle before any script runs (Node's crypto init); measured here on 2026-12-01, `node -e 0` took
// 61 ms with it and 22 ms without. This sandbox sets it; a host's default environment and
// enotconn's systemd unit do not. The second pass is the figure such a host sees. It starts once
// this process has reaped the daemons and sleepers it killed: left as zombies, they were rows in
// the second pass's process-table walks (2,000 of them in diagnose's).
export async function againWithoutExtraCa(): Promise<void> {
  if (!process.env.NODE_EXTRA_CA_CERTS) return;
  const children = `/proc/self/task/${process.pid}/children`;
  for (let i = 0; i < 250 && fs.readFileSync(children, 'utf8').trim() !== ''; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  console.log('\n# the same bench again, with NODE_EXTRA_CA_CERTS unset (a default environment)\n');
  await new Promise((resolve) =>
    spawn(process.execPath, process.argv.slice(1), { stdio: 'inherit', env }).on('exit', resolve),
  );
}
