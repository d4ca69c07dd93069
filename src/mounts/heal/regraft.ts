// --propagate and watch's `propagate: true` (DESIGN §6, §8): processes in other mount namespaces
// (containers, `unshare -m`) keep their copy of a dead mount after the host is healed, because
// their namespace does not receive the host's mount events (a private or slave propagation, a
// bind made before the mount was shared). For each such copy, the native helper clones the healed
// mount's tree on the host (open_tree(2) OPEN_TREE_CLONE, from the subdirectory the copy showed),
// enters the namespace, detaches the dead copy (umount2(2) MNT_DETACH) and moves the clone there
// (move_mount(2)), with the copy's ro/nosuid/nodev/noexec set (mount_setattr(2)). This is the way
// seaweedfs-csi re-attaches its volumes, generalised to any filesystem. Nothing is executed inside
// the namespace: a container's own binaries never run as host root.
import path from 'node:path';
import type { Host, ProbeResult } from '../../host/types.js';
import type { GraftStep, NamespaceCopy, NamespaceView, PlanStep } from '../diagnosis.js';
import { mntnsInode, namespaceView } from '../evidence/namespaces.js';
import { parseMountinfo, type MountInfo } from '../mountinfo/parse.js';
import { readMounts } from '../scan.js';

export const GRAFT_TIMEOUT_MS = 5_000;

// The host path whose tree a copy showing `copyRoot` is grafted from: the healed mount at
// `hostMountpoint` shows `hostRoot` of the filesystem. Null when the copy shows something the host
// mount does not contain (another subtree, or a deleted directory).
export function graftSource(hostMountpoint: string, hostRoot: string, copyRoot: string): string | null {
  if (copyRoot.endsWith('//deleted')) return null;
  const base = hostRoot === '/' ? '' : hostRoot.replace(/\/+$/, '');
  if (copyRoot !== (base || '/') && !copyRoot.startsWith(`${base}/`)) return null;
  const rest = copyRoot.slice(base.length).replace(/^\/+/, '');
  return rest === '' ? hostMountpoint : path.posix.join(hostMountpoint, rest);
}

function attrsOf(c: NamespaceCopy): GraftStep['attrs'] {
  const has = (o: string): boolean => c.options.includes(o);
  return { ro: has('ro'), nosuid: has('nosuid'), nodev: has('nodev'), noexec: has('noexec') };
}

function under(child: string, parent: string): boolean {
  return parent === '/' ? child !== '/' : child.startsWith(`${parent}/`);
}

// The graft steps for every namespace that holds a dead copy (pure). `healed` is the host mount the
// copies are re-attached from; its device is null while the heal has not run yet (--dry-run).
// A copy nested inside another copy of the same namespace is grafted after it, with nothing to
// detach: the lazy detach of the outer copy took it along. Of two copies stacked on one path,
// only the top one is replaced.
export function graftSteps(
  views: readonly NamespaceView[],
  healed: { mountpoint: string; root: string; device: string | null },
): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const v of views) {
    const pid = v.pids[0];
    if (pid === undefined) continue;
    const where = `in mount namespace ${v.mntns} (pid ${pid}, ${v.comm})`;
    const top = new Map<string, NamespaceCopy>();
    for (const c of v.copies) top.set(c.mountpoint, c); // later mounts cover earlier ones
    const depth = (c: NamespaceCopy): number => c.mountpoint.split('/').filter(Boolean).length;
    const copies = [...top.values()].sort((a, b) => depth(a) - depth(b) || a.mountId - b.mountId);
    for (const c of copies) {
      const source = graftSource(healed.mountpoint, healed.root, c.root);
      if (source === null) {
        steps.push({
          action: 'none',
          risk: 'safe',
          why: `cannot re-attach ${c.mountpoint} ${where}: it shows ${c.root}, which the healed mount (${healed.root}) does not contain`,
        });
        continue;
      }
      const nested = copies.some((o) => o !== c && under(c.mountpoint, o.mountpoint));
      const attrs = attrsOf(c);
      const flags = Object.entries(attrs)
        .filter(([, on]) => on)
        .map(([k]) => k);
      steps.push({
        action: 'graft',
        graft: {
          pid,
          pidStart: v.pidStart,
          mntns: v.mntns,
          source,
          sourceDevice: healed.device ?? '',
          root: c.root,
          target: c.mountpoint,
          staleMountId: nested ? null : c.mountId,
          attrs,
        },
        timeoutMs: GRAFT_TIMEOUT_MS,
        risk: 'caution',
        why: `replace the dead copy at ${c.mountpoint} ${where} with ${source} of the healed mount${
          flags.length > 0 ? ` (${flags.join(',')})` : ''
        }`,
      });
    }
  }
  return steps;
}

// The same steps, bound to the healed mount's device once it exists.
export function bindGraftSteps(steps: readonly PlanStep[], device: string): PlanStep[] {
  return steps.map((s) => (s.graft ? { ...s, graft: { ...s.graft, sourceDevice: device } } : s));
}

// A graft step as one display line (the helper runs it; there is no command to show).
export function showGraft(g: GraftStep): string {
  const flags = Object.entries(g.attrs)
    .filter(([, on]) => on)
    .map(([k]) => k);
  return `graft [helper] ${g.source} -> ${g.mntns}:${g.target} via pid ${g.pid}${
    g.staleMountId !== null ? `, detaching mount ${g.staleMountId}` : ''
  }${flags.length > 0 ? ` (${flags.join(',')})` : ''}`;
}

export interface NamespaceCheck {
  mntns: string;
  pid: number;
  mountpoint: string;
  ok: boolean;
  detail: string;
}

// What the namespace of `pid` shows on top of `mountpoint` now.
async function topAt(host: Host, pid: number, mountpoint: string): Promise<MountInfo | null> {
  const text = await host.readText(host.proc(pid, 'mountinfo'));
  if (text === null) return null;
  try {
    return (
      parseMountinfo(text)
        .filter((m) => m.mountpoint === mountpoint)
        .at(-1) ?? null
    );
  } catch {
    return null;
  }
}

// Probe `mountpoint` as the namespace of `pid` sees it, through /proc/<pid>/root: as root first;
// a FUSE mount without allow_other refuses root (fs/fuse/dir.c fuse_allow_current_process), so a
// `denied` is asked again as the owner (who can reach /proc/<pid>/root only when the namespace's
// process is theirs, proc(5) "ptrace access mode").
async function probeInNamespace(
  host: Host,
  pid: number,
  mountpoint: string,
  key: string,
  owner: { uid: number; gid: number } | null,
  timeoutMs: number,
): Promise<ProbeResult> {
  const p = `${host.proc(pid, 'root')}${mountpoint}`;
  const [r] = await host.probe([{ key, path: p }], { timeoutMs, concurrency: 1 });
  if (r?.state === 'denied' && owner && owner.uid !== host.uid()) {
    const [o] = await host.probe([{ key: `${key}#owner`, path: p, uid: owner.uid, gid: owner.gid }], {
      timeoutMs,
      concurrency: 1,
    });
    if (o) return o;
  }
  return r ?? { state: 'unknown', errno: 'ENOPROBE', syscall: 'statfs', latencyMs: 0 };
}

// After a graft: the namespace shows the healed superblock at the copy's path with the copy's
// root and flags (its mountinfo), and the mount answers there (a probe as the owner through
// /proc/<pid>/root, the namespace's own view of the path).
export async function verifyGraft(
  host: Host,
  g: GraftStep,
  owner: { uid: number; gid: number } | null,
  timeoutMs: number,
): Promise<NamespaceCheck> {
  const base = { mntns: g.mntns, pid: g.pid, mountpoint: g.target };
  const top = await topAt(host, g.pid, g.target);
  if (!top || `${top.major}:${top.minor}` !== g.sourceDevice) {
    return { ...base, ok: false, detail: `the namespace does not show the healed mount at ${g.target}` };
  }
  if (top.root !== g.root) {
    return { ...base, ok: false, detail: `the namespace shows ${top.root} at ${g.target}, not ${g.root}` };
  }
  const lost = Object.entries(g.attrs)
    .filter(([k, on]) => on && !top.options.includes(k))
    .map(([k]) => k);
  if (lost.length > 0) return { ...base, ok: false, detail: `the grafted mount lacks ${lost.join(',')}` };
  const p = await probeInNamespace(host, g.pid, g.target, `graft:${g.mntns}:${g.target}`, owner, timeoutMs);
  if (p.state !== 'healthy') {
    return {
      ...base,
      ok: false,
      detail: `the grafted mount does not answer there: ${p.state}${'errno' in p ? ` ${p.errno}` : ''}`,
    };
  }
  const flags = Object.entries(g.attrs)
    .filter(([, on]) => on)
    .map(([k]) => k);
  return {
    ...base,
    ok: true,
    detail: `shows the healed mount (${g.root}${flags.length > 0 ? `, ${flags.join(',')}` : ''}) and it answers`,
  };
}

// Foreign namespaces that hold dead copies of an earlier instance of `hostMount`: mounts there of
// the same filesystem type and source, on a device the host no longer has, that do not answer
// (probed through /proc/<pid>/root as the owner). Used when the host mount is already healthy
// (healed earlier, or remounted by its CSI driver), so nothing records the old device.
export async function staleCopiesOf(
  host: Host,
  hostMount: MountInfo,
  owner: { uid: number; gid: number } | null,
  timeoutMs: number,
): Promise<NamespaceView[]> {
  const selfNs = await host.readLink(host.proc('self', 'ns', 'mnt'));
  const hostDevices = new Set((await readMounts(host)).map((m) => `${m.major}:${m.minor}`));
  const groups = new Map<string, number[]>();
  for (const pid of await host.listPids()) {
    const ns = await host.readLink(host.proc(pid, 'ns', 'mnt'));
    if (ns === null || ns === selfNs || mntnsInode(ns) === null) continue;
    const g = groups.get(ns);
    if (g) g.push(pid);
    else groups.set(ns, [pid]);
  }
  const out: NamespaceView[] = [];
  for (const [ns, pids] of groups) {
    pids.sort((a, b) => a - b);
    const text = await host.readText(host.proc(pids[0]!, 'mountinfo'));
    let mounts: MountInfo[] = [];
    try {
      mounts = text ? parseMountinfo(text) : [];
    } catch {
      mounts = [];
    }
    const candidates = [
      ...new Set(
        mounts
          .filter(
            (m) =>
              m.fstype === hostMount.fstype &&
              m.source === hostMount.source &&
              !hostDevices.has(`${m.major}:${m.minor}`),
          )
          .map((m) => `${m.major}:${m.minor}`),
      ),
    ];
    if (candidates.length === 0) continue;
    const view = await namespaceView(host, ns, pids, candidates);
    if (!view) continue;
    const probes = await Promise.all(
      view.copies.map((c) =>
        probeInNamespace(host, view.pids[0]!, c.mountpoint, `stale:${ns}:${c.mountId}`, owner, timeoutMs),
      ),
    );
    const dead = view.copies.filter((_, i) => probes[i]!.state === 'dead');
    if (dead.length > 0) out.push({ ...view, copies: dead, mountpoint: dead[0]!.mountpoint });
  }
  return out.sort((a, b) => a.pids[0]! - b.pids[0]!);
}
