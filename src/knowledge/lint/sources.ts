import path from 'node:path';
import type { Host } from '../../host/types.js';
import { argvOptions } from '../../mounts/backends/types.js';
import { KNOWN_DAEMONS } from '../../mounts/backends/index.js';
import { findFuseDaemon, readProcessTable } from '../../mounts/process-table.js';
import { DEFAULT_TYPES, readMounts, typeMatches } from '../../mounts/scan.js';
import type { FstabParse } from './fstab.js';
import { last, parseUnitText, splitExec, values, type UnitFile } from './systemd-unit.js';
import type { LintTarget } from './types.js';

// FUSE daemons a .service may run (the issue's list), and the position of the mountpoint in argv.
const SERVICE_DAEMONS: Record<string, (args: string[]) => string | undefined> = {
  sshfs: (a) => a[1],
  rclone: (a) => (a[0] === 'mount' || a[0] === 'nfsmount' ? a[2] : undefined),
  s3fs: (a) => a[1],
  gcsfuse: (a) => a[1],
  blobfuse2: (a) => (a[0] === 'mount' ? a[1] : a[0]),
  'mount-s3': (a) => a[1],
};
const NETWORK_TYPES = new Set(['nfs', 'nfs4', 'cifs', 'smb3', '9p', 'ceph', 'glusterfs', 'davfs', 'lustre', 'gpfs']);

// The backend and kind a source, type and argv describe.
export function classify(
  spec: string,
  fstype: string,
  argv: readonly string[] | null,
): { backend: string | null; kind: 'fuse' | 'network' } | null {
  const prog = argv?.[0] ? path.basename(argv[0]) : null;
  const sub = fstype.startsWith('fuse.')
    ? fstype.slice(5)
    : fstype === 'fuse' || fstype === 'fuse3'
      ? (/^(\w+)#/.exec(spec)?.[1] ?? prog)
      : null;
  if (sub !== null && sub !== undefined) {
    const b = sub === 'mountpoint-s3' ? 'mount-s3' : sub === 'blobfuse' ? 'blobfuse2' : sub;
    return { backend: b, kind: 'fuse' };
  }
  if (fstype === 'fuse' || fstype === 'fuseblk' || fstype === 'fuse3') return { backend: null, kind: 'fuse' };
  if (fstype === 'rclone' || fstype === 'gcsfuse' || fstype === 's3fs') return { backend: fstype, kind: 'fuse' };
  if (fstype === 'nfs' || fstype === 'nfs4') return { backend: 'nfs', kind: 'network' };
  if (fstype === 'cifs' || fstype === 'smb3') return { backend: 'cifs', kind: 'network' };
  if (NETWORK_TYPES.has(fstype)) return { backend: null, kind: 'network' };
  return null;
}

// fstab entries for network and FUSE filesystems.
export function fstabTargets(file: string, parsed: FstabParse): LintTarget[] {
  const out: LintTarget[] = [];
  for (const e of parsed.entries) {
    const c = classify(e.spec, e.vfstype, null);
    if (!c) continue;
    out.push({
      source: 'fstab',
      file,
      line: e.line,
      found: e.raw,
      mountpoint: e.file,
      fstype: e.vfstype,
      ...c,
      options: e.options,
      argv: null,
      optionsKnown: true,
      comments: e.comments,
      fstab: e,
    });
  }
  return out;
}

// Read a unit directory: every .mount, .automount and .service, with `<unit>.d/*.conf` drop-ins.
export async function readUnits(host: Host, dir: string): Promise<UnitFile[]> {
  const names = ((await host.readDir(dir)) ?? []).filter((n) => /\.(mount|automount|service)$/.test(n)).sort();
  const units: UnitFile[] = [];
  for (const name of names) {
    const p = path.join(dir, name);
    const text = await host.readText(p);
    if (text === null) continue;
    const sections = parseUnitText(text, p);
    const dropDir = path.join(dir, `${name}.d`);
    const drops = ((await host.readDir(dropDir)) ?? []).filter((n) => n.endsWith('.conf')).sort();
    const dropIns: string[] = [];
    for (const d of drops) {
      const dp = path.join(dropDir, d);
      const dt = await host.readText(dp);
      if (dt === null) continue;
      parseUnitText(dt, dp, sections);
      dropIns.push(dp);
    }
    units.push({ name, path: p, dropIns, sections });
  }
  return units;
}

// Targets from units: .mount units of network/FUSE types, and .services that run a FUSE daemon.
export function unitTargets(units: readonly UnitFile[]): LintTarget[] {
  const out: LintTarget[] = [];
  for (const u of units) {
    if (u.name.endsWith('.mount')) {
      const type = last(u, 'Mount', 'Type')?.value ?? '';
      const what = last(u, 'Mount', 'What')?.value ?? '';
      const where = last(u, 'Mount', 'Where')?.value ?? '';
      const c = classify(what, type, null);
      if (!c) continue;
      const opts = last(u, 'Mount', 'Options');
      const anchor = opts ?? last(u, 'Mount', 'Type')!;
      out.push({
        source: 'systemd',
        file: anchor.file,
        line: anchor.line,
        found: anchor.raw,
        mountpoint: where,
        fstype: type,
        ...c,
        options: opts ? opts.value.split(',').filter((o) => o !== '') : [],
        argv: null,
        optionsKnown: true,
        comments: opts?.comments ?? [],
        unit: u,
      });
    } else if (u.name.endsWith('.service')) {
      const exec = values(u, 'Service', 'ExecStart');
      const start = exec[exec.length - 1];
      if (!start) continue;
      const { argv } = splitExec(start.value);
      const prog = argv[0] ? path.basename(argv[0]) : '';
      const mp = SERVICE_DAEMONS[prog];
      if (!mp) continue;
      const positional = argv.slice(1).filter((a, i, all) => !a.startsWith('-') && !isFlagValue(all, i));
      const mountpoint = mp(positional) ?? '';
      const flags = argv.filter((a) => a.startsWith('--')).map((a) => a.replace(/^--/, '').split('=')[0]!);
      out.push({
        source: 'systemd',
        file: start.file,
        line: start.line,
        found: start.raw,
        mountpoint,
        fstype: `fuse.${prog}`,
        backend: prog,
        kind: 'fuse',
        options: [...argvOptions(argv), ...flags.map((f) => `--${f}`)],
        argv,
        optionsKnown: true,
        comments: start.comments,
        unit: u,
      });
    }
  }
  return out;
}

// `-o x`, `-p 22` and `--flag value` take the next word: it is not a positional argument.
function isFlagValue(args: readonly string[], i: number): boolean {
  const prev = args[i - 1];
  return prev !== undefined && /^-[opFl]$/.test(prev);
}

// Targets from the live mount table: sshfs options come from the daemon's argv, not mountinfo.
export async function liveTargets(host: Host): Promise<LintTarget[]> {
  const mounts = (await readMounts(host)).filter((m) => typeMatches(m.fstype, DEFAULT_TYPES));
  if (mounts.length === 0) return [];
  const table = await readProcessTable(host);
  const out: LintTarget[] = [];
  for (const m of mounts) {
    const daemon =
      m.type === 'fuse' || m.type === 'fuseblk' ? await findFuseDaemon(host, m, table, KNOWN_DAEMONS) : null;
    const c = classify(m.source, m.fstype, daemon?.argv ?? null);
    if (!c) continue;
    const adj = daemon ? await host.readText(host.proc(daemon.pid, 'oom_score_adj')) : null;
    const flags = (daemon?.argv ?? []).filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
    out.push({
      source: 'live',
      file: null,
      line: null,
      found: `${m.source} on ${m.mountpoint} type ${m.fstype} (${[...m.options, ...m.superOptions].join(',')})${daemon ? ` served by pid ${daemon.pid}: ${daemon.argv.join(' ')}` : ''}`,
      mountpoint: m.mountpoint,
      fstype: m.fstype,
      ...c,
      options: [...m.options, ...m.superOptions, ...argvOptions(daemon?.argv ?? null), ...flags],
      argv: daemon?.argv ?? null,
      optionsKnown: daemon !== null || c.kind === 'network',
      comments: [],
      daemonPid: daemon?.pid ?? null,
      oomScoreAdj: adj === null ? null : Number(adj.trim()),
    });
  }
  return out;
}

// A live target whose daemon is gone, completed with the argv it ran with (from diagnose's recipe).
export function withDaemonArgv(t: LintTarget, argv: readonly string[]): LintTarget {
  if (t.argv) return t;
  const flags = argv.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
  const c = classify('', t.fstype, argv) ?? { backend: t.backend, kind: t.kind };
  return { ...t, ...c, argv: [...argv], optionsKnown: true, options: [...t.options, ...argvOptions(argv), ...flags] };
}
