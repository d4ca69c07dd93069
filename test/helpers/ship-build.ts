// Build the single executable and the .deb for the tests that need them, once per build: a test
// run after `npm run build` (scripts/test.sh) finds no dist/enotconn and makes it here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './live.js';
import { SEA } from './run-argv.js';

function newer(a: string, b: string): boolean {
  return fs.existsSync(a) && fs.existsSync(b) && fs.statSync(a).mtimeMs >= fs.statSync(b).mtimeMs;
}

function node(script: string): void {
  const r = spawnSync(process.execPath, [path.join(REPO, script)], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr.slice(-2000)}`);
}

// dist/enotconn, built from the current bundle when missing or older.
export function ensureSea(): string {
  if (!newer(SEA, path.join(REPO, 'dist/sea/enotconn.cjs'))) node('scripts/build-sea.mjs');
  return SEA;
}

// What the .deb is made of besides the executable (scripts/build-deb.mjs reads each).
const DEB_INPUTS = [
  'scripts/build-deb.mjs',
  'deploy/systemd/enotconn-watch.service',
  'deploy/debian',
  'examples/watch.yaml',
  'package.json',
  'native/build/enotconn-helper',
];

// dist/enotconn_<version>_amd64.deb, built when missing or older than the executable or another input.
export function ensureDeb(): string {
  ensureSea();
  const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  const deb = path.join(REPO, 'dist', `enotconn_${version}_amd64.deb`);
  const inputs = DEB_INPUTS.map((p) => path.join(REPO, p))
    .filter((p) => fs.existsSync(p))
    .flatMap((p) => (fs.statSync(p).isDirectory() ? fs.readdirSync(p).map((f) => path.join(p, f)) : [p]));
  if (![SEA, ...inputs].every((input) => newer(deb, input))) node('scripts/build-deb.mjs');
  return deb;
}
