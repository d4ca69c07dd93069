// Proof that a heal worked (heal issue, "Validation"): a fresh probe is healthy, the directory lists,
// and a file that existed before the failure reads back with the same content. Every check that
// touches the mount runs with a timeout, as the mount's owner: in the native helper when the owner
// is this process's own user (no process started), else in a child process under setpriv.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Host, ProbeResult, ProbeState } from '../../host/types.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { mountKey } from '../scan.js';
import type { Recipe, RecipeSample } from './recipe.js';
import { program } from '../../host/programs.js';
import { isFuse, runAsArgv, type RunAsOwner } from './plan.js';

const CHECK_TIMEOUT_MS = 5_000;
const SAMPLE_MAX_BYTES = 1024 * 1024;

export interface SampleCheck {
  // recorded: a file hashed through the healthy mount earlier; source: the same file read from the
  // local source directory; read: no earlier copy known, the file was only read back.
  how: 'recorded' | 'source' | 'read' | 'none';
  path: string | null; // relative to the mountpoint
  ok: boolean;
  detail: string;
  sha256?: string;
}

export interface Validation {
  ok: boolean;
  probe: { state: ProbeState; errno?: string; latencyMs?: number; asOwner: boolean };
  listed: boolean;
  entries: number | null;
  sample: SampleCheck;
  durationMs: number;
}

const ERRNO_TEXT: Array<[RegExp, ProbeState, string]> = [
  [/Transport endpoint is not connected/, 'dead', 'ENOTCONN'],
  [/Software caused connection abort/, 'dead', 'ECONNABORTED'],
  [/Stale file handle/, 'stale', 'ESTALE'],
  [/Input\/output error/, 'io-error', 'EIO'],
  [/Permission denied|Operation not permitted/, 'denied', 'EACCES'],
];

// Probe a mount. A FUSE mount without allow_other answers only its owner (the kernel refuses even
// root with EACCES before the daemon is asked), so a `denied` answer is re-checked as the owner
// with statfs(2) (`stat -f`) in a child with a timeout.
export async function probeMount(
  host: Host,
  mount: MountInfo,
  owner: RunAsOwner | null,
  timeoutMs: number,
  keySuffix = '',
): Promise<Validation['probe']> {
  // A fresh mount may reuse the old one's device number, hence its probe key: a suffix keeps the
  // validation probe from being answered by the old mount's stuck-probe record.
  const key = keySuffix ? `${mountKey(mount)}#${keySuffix}` : mountKey(mount);
  const [r] = await host.probe([{ key, path: mount.mountpoint }], { timeoutMs, concurrency: 1 });
  const res: ProbeResult = r ?? { state: 'unknown', errno: 'ENOPROBE', syscall: 'statfs', latencyMs: 0 };
  if (res.state !== 'denied' || !isFuse(mount) || owner === null || owner.uid === host.uid()) return plain(res);
  const argv = runAsArgv(
    [program('stat'), '-f', '-c', '%t', '--', mount.mountpoint],
    owner,
    host.uid(),
    program('setpriv'),
  );
  const x = await host.exec(argv, { timeoutMs });
  if (x.timedOut) return { state: 'hung', asOwner: true };
  if (x.code === 0) return { state: 'healthy', latencyMs: x.durationMs, asOwner: true };
  const hit = ERRNO_TEXT.find(([re]) => re.test(x.stderr));
  return { state: hit?.[1] ?? 'unknown', errno: hit?.[2] ?? 'EUNKNOWN', latencyMs: x.durationMs, asOwner: true };
}

function plain(r: ProbeResult): Validation['probe'] {
  if (r.state === 'healthy') return { state: 'healthy', latencyMs: r.latencyMs, asOwner: false };
  if (r.state === 'hung') return { state: 'hung', asOwner: false };
  return { state: r.state, errno: r.errno, latencyMs: r.latencyMs, asOwner: false };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

// The local directory a mount serves, when its data is on this machine: bindfs and a local rclone
// path are; so is sshfs to a loopback address (the remote path is a local one).
export function localSourceDir(recipe: Pick<Recipe, 'backend' | 'source'>, mount: MountInfo): string | null {
  const src = mount.source;
  if (recipe.backend === 'bindfs' && src.startsWith('/')) return src;
  if (recipe.backend === 'rclone' && src.startsWith('/')) return src;
  if (recipe.backend === 'sshfs') {
    const m = /^(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+):(.*)$/.exec(src);
    if (m && LOOPBACK.has(m[1]!) && m[2]!.startsWith('/')) return m[2]!;
  }
  return null;
}

async function sha256As(
  host: Host,
  file: string,
  owner: RunAsOwner | null,
): Promise<{ sha256: string | null; error: string }> {
  const v = asSelf(host, owner) ? await host.viewInHelper(file, 'r', SAMPLE_MAX_BYTES, CHECK_TIMEOUT_MS) : null;
  if (v) {
    if (v.timedOut) return { sha256: null, error: 'timed out' };
    if (v.errno !== null) return { sha256: null, error: `${file}: ${v.errno}` };
    return { sha256: createHash('sha256').update(v.data).digest('hex'), error: '' };
  }
  const cmd = [program('sha256sum'), '--', file];
  const argv = owner ? runAsArgv(cmd, owner, host.uid(), program('setpriv')) : cmd;
  const r = await host.exec(argv, { timeoutMs: CHECK_TIMEOUT_MS });
  const m = /^\\?([0-9a-f]{64})\s/.exec(r.stdout);
  return m
    ? { sha256: m[1]!, error: '' }
    : { sha256: null, error: r.timedOut ? 'timed out' : (r.stderr.trim().split('\n')[0] ?? '') };
}

// The helper reads as this process: only for a mount whose owner is this process's own user.
function asSelf(host: Host, owner: { uid: number } | null): boolean {
  return owner === null || owner.uid === host.uid();
}

// The first regular file of at most 1 MiB directly in `dir`, by name (run as `owner` when given).
async function firstFile(host: Host, dir: string, owner: RunAsOwner | null): Promise<string | null> {
  const v = asSelf(host, owner) ? await host.viewInHelper(dir, 'f', SAMPLE_MAX_BYTES, CHECK_TIMEOUT_MS) : null;
  if (v) return v.timedOut || v.errno !== null || v.data.length === 0 ? null : v.data.toString('utf8');
  const base = [
    program('find'),
    dir,
    '-mindepth',
    '1',
    '-maxdepth',
    '1',
    '-type',
    'f',
    '-size',
    `-${SAMPLE_MAX_BYTES / 1024 + 1}k`,
    '-printf',
    '%f\\0',
  ];
  const argv = owner ? runAsArgv(base, owner, host.uid(), program('setpriv')) : base;
  const r = await host.exec(argv, { timeoutMs: CHECK_TIMEOUT_MS });
  const names = r.stdout.split('\0').filter((n) => n !== '');
  names.sort();
  return names[0] ?? null;
}

// Run the three checks on the new mount. `recipe.sample` (recorded while healthy) is preferred; else
// a file of a local source is compared; else any file is read back and recorded for next time.
export async function validateMount(
  host: Host,
  mount: MountInfo,
  recipe: Recipe,
  timeoutMs: number,
  keySuffix = 'validate',
): Promise<Validation> {
  const t0 = performance.now();
  const owner = { uid: recipe.uid, gid: recipe.gid, ...(recipe.user !== undefined ? { user: recipe.user } : {}) };
  const probe = await probeMount(host, mount, owner, timeoutMs, keySuffix);
  const done = (v: Omit<Validation, 'durationMs' | 'ok'>): Validation => ({
    ...v,
    ok: v.probe.state === 'healthy' && v.listed && v.sample.ok,
    durationMs: Math.round(performance.now() - t0),
  });
  const none: SampleCheck = { how: 'none', path: null, ok: false, detail: 'not checked' };
  if (probe.state !== 'healthy') return done({ probe, listed: false, entries: null, sample: none });
  const ls = await listMount(host, mount.mountpoint, owner);
  if (!ls.listed) {
    return done({ probe, listed: false, entries: null, sample: { ...none, detail: `ls failed: ${ls.error}` } });
  }
  const sample = await checkSample(host, mount, recipe, owner);
  return done({ probe, listed: true, entries: ls.entries, sample });
}

// The mount's top directory listed as the owner: its entry count (as ls -A counts them).
async function listMount(
  host: Host,
  mp: string,
  owner: RunAsOwner,
): Promise<{ listed: true; entries: number } | { listed: false; error: string }> {
  const v = asSelf(host, owner) ? await host.viewInHelper(mp, 'l', 0, CHECK_TIMEOUT_MS) : null;
  if (v) {
    if (v.timedOut) return { listed: false, error: 'timed out' };
    return v.errno !== null ? { listed: false, error: v.errno } : { listed: true, entries: Number(v.data.toString()) };
  }
  const ls = await host.exec(runAsArgv([program('ls'), '-A1', '--', mp], owner, host.uid(), program('setpriv')), {
    timeoutMs: CHECK_TIMEOUT_MS,
    env: { LC_ALL: 'C' },
  });
  if (ls.code !== 0) return { listed: false, error: ls.stderr.trim() };
  return { listed: true, entries: ls.stdout.split('\n').filter((l) => l !== '').length };
}

async function checkSample(host: Host, mount: MountInfo, recipe: Recipe, owner: RunAsOwner): Promise<SampleCheck> {
  const recorded: RecipeSample | undefined = recipe.sample;
  if (recorded) {
    const got = await sha256As(host, path.join(mount.mountpoint, recorded.path), owner);
    const ok = got.sha256 === recorded.sha256;
    return {
      how: 'recorded',
      path: recorded.path,
      ok,
      detail: ok
        ? `${recorded.path}: same sha256 as recorded ${recorded.recordedAt}`
        : `${recorded.path}: ${got.sha256 ? 'content differs from' : `unreadable (${got.error}), expected`} the copy recorded ${recorded.recordedAt}`,
      ...(got.sha256 ? { sha256: got.sha256 } : {}),
    };
  }
  // The source directory is the user's choice (-o fsname=/root): it is read as the owner, never as root.
  const srcDir = localSourceDir(recipe, mount);
  if (srcDir) {
    const name = await firstFile(host, srcDir, owner);
    if (name) {
      const [src, via] = await Promise.all([
        sha256As(host, path.join(srcDir, name), owner),
        sha256As(host, path.join(mount.mountpoint, name), owner),
      ]);
      const ok = src.sha256 !== null && src.sha256 === via.sha256;
      return {
        how: 'source',
        path: name,
        ok,
        detail: ok
          ? `${name}: same sha256 through the mount as in the source ${srcDir}`
          : `${name}: through the mount ${via.sha256 ?? `unreadable (${via.error})`}, in the source ${src.sha256 ?? src.error}`,
        ...(via.sha256 ? { sha256: via.sha256 } : {}),
      };
    }
  }
  const name = await firstFile(host, mount.mountpoint, owner);
  if (!name)
    return { how: 'none', path: null, ok: true, detail: 'no regular file at the top of the mount to read back' };
  const via = await sha256As(host, path.join(mount.mountpoint, name), owner);
  return {
    how: 'read',
    path: name,
    ok: via.sha256 !== null,
    detail: via.sha256
      ? `${name}: read back (no earlier copy known to compare; recorded now for the next heal)`
      : `${name}: unreadable (${via.error})`,
    ...(via.sha256 ? { sha256: via.sha256 } : {}),
  };
}
