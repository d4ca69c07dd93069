#!/usr/bin/env node
// Build the container image the DaemonSet in deploy/kubernetes/ names, with podman (runc: crun
// cannot set rlimits on some hosts) from deploy/container/Containerfile: the local Debian base
// image (scripts/debian-base-image.sh, debootstrap, no registry), Debian's FUSE packages, and
// dist/enotconn (npm run sea). The image carries a label with the SHA-256 of its inputs (the
// Containerfile, the executable and the base image's id); when the tagged image already has that
// label nothing is rebuilt, so a test run builds it once.
// Usage: node scripts/build-image.mjs [--print-name]   (as root; prints the image name)
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
// The name deploy/kubernetes/daemonset.yaml runs (a unit test holds the two equal).
export const IMAGE = `ghcr.io/enotconn/enotconn:${pkg.version}`;
const LABEL = 'io.enotconn.inputs-sha256';
const PODMAN = ['/usr/bin/podman', '--runtime', 'runc'];
const containerfile = path.join(root, 'deploy/container/Containerfile');
const exe = path.join(root, 'dist/enotconn');
// The native helper (scripts/build-native.sh): the image's namespace work (the graft) needs it; the
// single executable finds it at ../lib/enotconn/enotconn-helper beside itself.
const helper = path.join(root, 'native/build/enotconn-helper');

function podman(args, opts = {}) {
  return execFileSync(PODMAN[0], [...PODMAN.slice(1), ...args], { encoding: 'utf8', ...opts });
}

function fileHash(h, file) {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

function currentLabel() {
  try {
    return podman(['image', 'inspect', '--format', `{{index .Labels "${LABEL}"}}`, IMAGE], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

if (process.argv.includes('--print-name')) {
  process.stdout.write(`${IMAGE}\n`);
  process.exit(0);
}
if (!fs.existsSync(exe)) throw new Error('build-image: dist/enotconn is missing: run npm run sea first');
if (!fs.existsSync(helper))
  throw new Error('build-image: native/build/enotconn-helper is missing: run sh scripts/build-native.sh');
const base = execFileSync('/bin/bash', [path.join(root, 'scripts/debian-base-image.sh')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();
const h = crypto.createHash('sha256');
h.update(podman(['image', 'inspect', '--format', '{{.Id}}', base]).trim());
h.update('\0');
fileHash(h, containerfile);
h.update('\0');
fileHash(h, exe);
h.update('\0');
fileHash(h, helper);
const inputs = h.digest('hex');
if (currentLabel() === inputs) {
  process.stdout.write(`${IMAGE}\n`);
  process.exit(0);
}
// The build context is a directory of its own: the Containerfile, the executable and the helper,
// nothing else of the working tree.
const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'enotconn-image-'));
try {
  fs.copyFileSync(containerfile, path.join(ctx, 'Containerfile'));
  fs.copyFileSync(exe, path.join(ctx, 'enotconn'));
  fs.chmodSync(path.join(ctx, 'enotconn'), 0o755);
  fs.copyFileSync(helper, path.join(ctx, 'enotconn-helper'));
  fs.chmodSync(path.join(ctx, 'enotconn-helper'), 0o755);
  podman(
    [
      'build',
      // podman's default limits exceed some hosts' hard limits (runc: setrlimit EPERM).
      '--ulimit',
      'nofile=4096:4096',
      '--ulimit',
      'nproc=4096:4096',
      '--label',
      `${LABEL}=${inputs}`,
      '--label',
      `org.opencontainers.image.version=${pkg.version}`,
      '-t',
      IMAGE,
      '-f',
      path.join(ctx, 'Containerfile'),
      ctx,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
} finally {
  fs.rmSync(ctx, { recursive: true, force: true });
}
if (currentLabel() !== inputs) throw new Error(`build-image: ${IMAGE} does not carry the inputs label after the build`);
process.stdout.write(`${IMAGE}\n`);
