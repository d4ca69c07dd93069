// Small local images for the container tests, built once and cached by podman under a tag that
// names their inputs (no registry is reachable here; MACHINE-NOTES):
// - plain: busybox-static and its applet links, the way a minimal image looks;
// - hostile: the same, plus a fake umount, mount, perl, nsenter, setpriv, stat, sha256sum and sh
//   in every PATH directory, each of which writes /markers/<name> when run: a heal that ran any
//   of the container's binaries as host root leaves a marker;
// - static: one static binary and nothing else (no shell, no tools), which reads /data/f in a loop.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PODMAN = ['/usr/bin/podman', '--runtime', 'runc'];
const BUSYBOX = '/bin/busybox';
const APPLETS = [
  'sh',
  'cat',
  'sleep',
  'echo',
  'ls',
  'touch',
  'mkdir',
  'mv',
  'test',
  'true',
  'grep',
  'stat',
  'umount',
  'mount',
];
export const FAKES = ['umount', 'mount', 'perl', 'nsenter', 'setpriv', 'stat', 'sha256sum', 'sh'];
const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

// The reader of the static image: every 100 ms, /data/f's content (or the errno) into /out/last.
const READER_C = `#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(void) {
  for (;;) {
    char buf[256], line[300];
    int n = -1, fd = open("/data/f", O_RDONLY);
    if (fd >= 0) { n = (int)read(fd, buf, sizeof buf - 1); close(fd); }
    int len = n >= 0 ? snprintf(line, sizeof line, "OK:%.*s", n, buf) : snprintf(line, sizeof line, "ERR:%s", strerror(errno));
    int out = open("/out/last.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) { if (write(out, line, (size_t)len) < 0) {} close(out); rename("/out/last.tmp", "/out/last"); }
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
  }
}
`;

export type TestImage = 'plain' | 'hostile' | 'static';

function podman(args: string[], input?: Buffer): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PODMAN[0]!, [...PODMAN.slice(1), ...args], { timeout: 120_000, input });
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function buildRootfs(kind: TestImage, dir: string): void {
  const mk = (p: string): void => {
    fs.mkdirSync(path.join(dir, p), { recursive: true });
  };
  for (const d of ['data', 'out', 'tmp', 'proc', 'sys', 'dev', 'etc', 'markers']) mk(d);
  if (kind === 'static') {
    const c = path.join(dir, '..', 'reader.c');
    fs.writeFileSync(c, READER_C);
    const r = spawnSync('gcc', ['-static', '-O2', '-o', path.join(dir, 'reader'), c], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gcc -static failed: ${r.stderr}`);
    fs.rmSync(path.join(dir, 'markers'), { recursive: true });
    return;
  }
  mk('bin');
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(dir, 'bin', a));
  if (kind !== 'hostile') return;
  for (const d of PATH_DIRS) {
    mk(d);
    for (const name of FAKES) {
      const f = path.join(dir, d, name);
      fs.rmSync(f, { force: true });
      fs.writeFileSync(f, `#!/bin/busybox sh\n/bin/busybox echo "ran $0 $*" >> /markers/${name}\nexit 0\n`, {
        mode: 0o755,
      });
    }
  }
}

// The image of `kind`, built when its tag is not there yet; returns its name.
export function ensureTestImage(kind: TestImage): string {
  const hash = crypto
    .createHash('sha256')
    .update(kind)
    .update(buildRootfs.toString())
    .update(READER_C)
    .update(String(fs.statSync(BUSYBOX).size))
    .digest('hex')
    .slice(0, 12);
  const name = `localhost/enotconn-test-${kind}:${hash}`;
  if (podman(['image', 'exists', name]).code === 0) return name;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-image-'));
  try {
    const root = path.join(work, 'rootfs');
    fs.mkdirSync(root);
    buildRootfs(kind, root);
    const tar = spawnSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    if (tar.status !== 0) throw new Error('tar of the rootfs failed');
    const r = podman(['import', '-', name], tar.stdout);
    if (r.code !== 0) throw new Error(`podman import failed: ${r.stderr}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return name;
}
