// Build the container image (npm run image's script) for the tests that run it, once: the script
// skips the build when the tagged image's inputs label matches the Containerfile, the executable
// and the base image.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from './live.js';
import { ensureSea } from './ship-build.js';

const SCRIPT = path.join(REPO, 'scripts/build-image.mjs');

// The image name `npm run image` tags, without building anything.
export function imageName(): string {
  const r = spawnSync(process.execPath, [SCRIPT, '--print-name'], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`build-image --print-name failed: ${r.stderr}`);
  return r.stdout.trim();
}

// The image, built from the current single executable when its inputs changed; returns its name.
export function ensureImage(): string {
  ensureSea();
  const r = spawnSync(process.execPath, [SCRIPT], { cwd: REPO, encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`build-image failed: ${r.stderr.slice(-2000)}`);
  return r.stdout.trim().split('\n').at(-1)!;
}
