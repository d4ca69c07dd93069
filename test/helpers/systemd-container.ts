// A Debian bookworm host booted with systemd, in a podman container (runc): the image is the local
// base (scripts/debian-base-image.sh) plus test/fixtures/containers/debian-systemd.Containerfile,
// built once and cached by the SHA-256 of its inputs (the base image's id and the Containerfile),
// as scripts/build-image.mjs caches its image. The container's / is made rshared, as systemd makes
// it on a booted host, so mount propagation is the host's.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, waitFor } from './live.js';

export const SYSTEMD_IMAGE = 'localhost/enotconn-test-systemd:bookworm';
const PODMAN = ['/usr/bin/podman', '--runtime', 'runc'];
const CONTAINERFILE = path.join(REPO, 'test/fixtures/containers/debian-systemd.Containerfile');
const LABEL = 'io.enotconn.inputs-sha256';
// runc cannot raise RLIMIT_NOFILE/NPROC beyond this machine's hard limits (MACHINE-NOTES).
const ULIMITS = ['--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];

export interface ShResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

// podman with this machine's runtime, by argv.
export function podman(args: string[], timeout = 60_000): ShResult {
  const r = spawnSync(PODMAN[0]!, [...PODMAN.slice(1), ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function inputsLabel(image: string): string {
  const r = podman(['image', 'inspect', '--format', `{{index .Labels "${LABEL}"}}`, image]);
  return r.status === 0 ? r.stdout.trim() : '';
}

// The image, built when its inputs changed (the first run builds the base image too); returns its name.
export function ensureSystemdImage(): string {
  const b = spawnSync('/bin/bash', [path.join(REPO, 'scripts/debian-base-image.sh')], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (b.status !== 0) throw new Error(`debian-base-image.sh failed: ${(b.stderr ?? '').slice(-2000)}`);
  const base = b.stdout.trim();
  const id = podman(['image', 'inspect', '--format', '{{.Id}}', base]).stdout.trim();
  const inputs = crypto.createHash('sha256').update(`${id}\0`).update(fs.readFileSync(CONTAINERFILE)).digest('hex');
  if (inputsLabel(SYSTEMD_IMAGE) === inputs) return SYSTEMD_IMAGE;
  // A context of its own: the Containerfile and nothing else of the working tree.
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-systemd-image-'));
  try {
    fs.copyFileSync(CONTAINERFILE, path.join(ctx, 'Containerfile'));
    const r = podman(
      [
        'build',
        ...ULIMITS,
        '--label',
        `${LABEL}=${inputs}`,
        '-t',
        SYSTEMD_IMAGE,
        '-f',
        path.join(ctx, 'Containerfile'),
        ctx,
      ],
      900_000,
    );
    if (r.status !== 0) throw new Error(`podman build ${SYSTEMD_IMAGE} failed: ${r.stderr.slice(-2000)}`);
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
  if (inputsLabel(SYSTEMD_IMAGE) !== inputs) throw new Error(`${SYSTEMD_IMAGE} lacks its inputs label after the build`);
  return SYSTEMD_IMAGE;
}

export interface SystemdBox {
  name: string;
  // A shell script run by `podman exec`: a plain process in PID 1's namespaces, not a child of any unit.
  sh(script: string, timeout?: number): ShResult;
  remove(): void;
}

// Boot `image` with systemd as PID 1 and wait until the system is up; `volumes` are podman -v specs.
export async function bootSystemd(name: string, image: string, volumes: string[] = []): Promise<SystemdBox> {
  podman(['rm', '-f', '-t', '0', name]);
  const r = podman([
    'run',
    '-d',
    '--rm',
    '--name',
    name,
    '--systemd=always',
    ...ULIMITS,
    // /dev/fuse and the capabilities systemd needs to apply a unit's sandboxing; a unit's own limits still apply.
    '--privileged',
    '--network',
    'none',
    ...volumes.flatMap((v) => ['-v', v]),
    image,
    '/sbin/init',
  ]);
  if (r.status !== 0) throw new Error(`podman run ${image} failed: ${r.stderr}`);
  const box: SystemdBox = {
    name,
    sh: (script, timeout = 60_000) => podman(['exec', name, '/bin/sh', '-c', script], timeout),
    remove: () => void podman(['rm', '-f', '-t', '0', name]),
  };
  try {
    await waitFor(
      () => /^(running|degraded)/.test(box.sh('systemctl is-system-running').stdout),
      120_000,
      'systemd in the container to finish booting',
    );
    // Why: podman gives the container a private /, and systemd leaves a container manager's choice
    // alone; started by the kernel it makes / shared (mount_setup(), src/shared/mount-setup.c).
    const shared = box.sh('mount --make-rshared / && awk \'$5 == "/"\' /proc/1/mountinfo');
    if (shared.status !== 0 || !/ shared:\d+ /.test(shared.stdout)) {
      throw new Error(`/ is not shared in the container: ${shared.stdout}${shared.stderr}`);
    }
  } catch (e) {
    box.remove();
    throw e;
  }
  return box;
}
