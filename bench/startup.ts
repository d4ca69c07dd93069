// bench/startup.ts: how long `enotconn --version` and `enotconn scan` take to answer, for the npm
// bundle, the tsc build and the single executable, beside `node -e 0` in the same run (the floor:
// Node's own start-up). Runs are interleaved so load on the machine hits every variant alike.
// Prints medians and p90; asserts nothing (benchmarks are not tests).
//   node dist/bench/startup.js [--runs 30]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { againWithoutExtraCa } from './machine.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const i = process.argv.indexOf('--runs');
const RUNS = i >= 0 ? Number(process.argv[i + 1]) : 30;

const variants: Array<[string, string[]]> = [
  ['node -e 0 (the floor)', [process.execPath, '-e', '0']],
  ['bundle --version', [process.execPath, path.join(REPO, 'dist/bundle/enotconn.cjs'), '--version']],
  ['tsc build --version', [process.execPath, path.join(REPO, 'dist/src/cli/main.js'), '--version']],
  ['bundle scan', [process.execPath, path.join(REPO, 'dist/bundle/enotconn.cjs'), 'scan']],
  ['tsc build scan', [process.execPath, path.join(REPO, 'dist/src/cli/main.js'), 'scan']],
];
const sea = path.join(REPO, 'dist/enotconn');
if (fs.existsSync(sea)) {
  variants.push(['single executable --version', [sea, '--version']], ['single executable scan', [sea, 'scan']]);
}

function once(argv: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return ms;
}

const times = variants.map(() => [] as number[]);
for (const [, argv] of variants) once(argv); // warm the page cache
for (let r = 0; r < RUNS; r++) variants.forEach(([, argv], k) => times[k]!.push(once(argv)));

const q = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
console.log(
  `startup bench: ${RUNS} interleaved runs, ${os.cpus().length} cores, Linux ${os.release()}, Node ${process.version}, NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset'}, ${new Date().toISOString()}`,
);
const floor = q(times[0]!, 0.5);
for (const [k, [name]] of variants.entries()) {
  const med = q(times[k]!, 0.5);
  const extra = k === 0 ? '' : `  (+${(med - floor).toFixed(1)} ms over node -e 0)`;
  console.log(
    `  ${name.padEnd(30)} median ${med.toFixed(1).padStart(6)} ms  p90 ${q(times[k]!, 0.9).toFixed(1).padStart(6)} ms${extra}`,
  );
}
await againWithoutExtraCa();
