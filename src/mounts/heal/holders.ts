// Who holds a mount (cwd, root, open files, mapped files, exe), and which mount namespaces still
// carry it. Only /proc links and text are read: readlink on /proc/<pid>/{cwd,fd/N} never touches
// the target filesystem, so a hung mount cannot block this.
import type { Host } from '../../host/types.js';
import { readProcStat } from '../../host/proc.js';
import type { Holder, NamespaceView } from '../diagnosis.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { namespaceViews } from '../evidence/namespaces.js';
import { bytesToUtf8 } from '../mountinfo/unescape.js';
import { isUnder, mappedPaths, readPasswd } from '../evidence/holders.js';

export interface HolderRecord extends Holder {
  start: number; // start ticks, so a reused pid is not mistaken for the holder
}

export interface MountUsers {
  holders: HolderRecord[];
  namespaces: NamespaceView[];
}

// Holders of `mount` in our mount namespace, and the other namespaces whose table still has it
// (matched by device, since another namespace may see it at another path).
export async function findMountUsers(host: Host, mount: MountInfo, exclude: ReadonlySet<number>): Promise<MountUsers> {
  const selfNs = await host.readLink(host.proc('self', 'ns', 'mnt'));
  const pids = await host.listPids();
  const names = await readPasswd(host);
  const holders: HolderRecord[] = [];
  const foreign = new Map<string, number[]>();
  const mp = mount.mountpoint;
  const dev = `${mount.major}:${mount.minor}`;
  const mapsP = readMapsBounded(host, pids, mp, MAPS_DEADLINE_MS);
  await Promise.all(
    pids.map(async (pid) => {
      if (exclude.has(pid) || pid === process.pid) return;
      const ns = await host.readLink(host.proc(pid, 'ns', 'mnt'));
      if (ns !== null && selfNs !== null && ns !== selfNs) {
        const g = foreign.get(ns);
        if (g) g.push(pid);
        else foreign.set(ns, [pid]);
        return;
      }
      const how = new Set<Holder['how'][number]>();
      const paths = new Set<string>();
      const link = async (what: 'cwd' | 'root' | 'exe'): Promise<void> => {
        const l = await host.readLink(host.proc(pid, what));
        if (l !== null && isUnder(bytesToUtf8(l), mp) && !(what === 'root' && mp === '/')) {
          how.add(what);
          paths.add(bytesToUtf8(l));
        }
      };
      await Promise.all([link('cwd'), link('root'), link('exe')]);
      for (const fd of (await host.readDir(host.proc(pid, 'fd'))) ?? []) {
        const l = await host.readLink(host.proc(pid, 'fd', fd));
        if (l !== null && l.startsWith('/') && isUnder(bytesToUtf8(l), mp)) {
          how.add('fd');
          paths.add(bytesToUtf8(l));
        }
      }
      const maps = (await mapsP).get(pid) ?? null;
      const mapped = maps ? mappedPaths(maps).filter((p) => isUnder(p, mp)) : [];
      if (mapped.length > 0) {
        how.add('map');
        for (const p of mapped) paths.add(bytesToUtf8(p));
      }
      if (how.size === 0) return;
      const st = await readProcStat(host, pid);
      const status = await host.readText(host.proc(pid, 'status'));
      const uidM = status ? /^Uid:\s+(\d+)/m.exec(status) : null;
      const uid = uidM ? Number(uidM[1]) : null;
      holders.push({
        pid,
        comm: st?.comm ?? '?',
        uid,
        user: uid !== null ? (names.get(uid) ?? null) : null,
        how: [...how],
        paths: [...paths].slice(0, 20),
        start: st?.startTicks ?? 0,
      });
    }),
  );
  holders.sort((a, b) => a.pid - b.pid);
  const namespaces = await namespaceViews(host, foreign, [dev]);
  return { holders, namespaces };
}

const MAPS_DEADLINE_MS = 2000;

// The lines of /proc/PID/maps that contain `needle`, for each pid, read by one `grep` child with a
// deadline. Why a child: reading maps takes the process's mmap lock, which a task faulting on a
// hung mount holds for as long as the mount hangs; a read in our process (or libuv's pool) would
// wait as long. A child that overruns is killed and abandoned; what it printed so far is kept.
export async function readMapsBounded(
  host: Host,
  pids: readonly number[],
  needle: string,
  timeoutMs: number,
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (pids.length === 0) return out;
  const files = pids.map((p) => host.proc(p, 'maps'));
  const r = await host.exec(['grep', '-H', '-F', '-s', '-e', needle === '' ? ' ' : needle, '--', ...files], {
    timeoutMs,
  });
  for (const line of r.stdout.split('\n')) {
    const m = /\/(\d+)\/maps:(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    out.set(pid, `${out.get(pid) ?? ''}${m[2]}\n`);
  }
  return out;
}

// After a heal: which holders still see the old mount. Open files and mappings are compared by
// mount id (fdinfo mnt_id) and device (maps); cwd, root and exe by the device `stat -L` reports
// through the /proc link, run in a child with a timeout. An error such as ENOTCONN there means the
// link still leads into the dead mount.
export async function stillOnOldMount(host: Host, old: MountInfo, holders: readonly HolderRecord[]): Promise<Holder[]> {
  const oldDev = `${old.major}:${old.minor}`;
  const hexDev = `${old.major.toString(16).padStart(2, '0')}:${old.minor.toString(16).padStart(2, '0')}`;
  const out: Holder[] = [];
  await Promise.all(
    holders.map(async (h) => {
      const st = await readProcStat(host, h.pid);
      if (!st || st.startTicks !== h.start || st.state === 'Z') return; // gone: nothing left on the old mount
      const how = new Set<Holder['how'][number]>();
      for (const fd of (await host.readDir(host.proc(h.pid, 'fdinfo'))) ?? []) {
        const info = await host.readText(host.proc(h.pid, 'fdinfo', fd));
        const m = info ? /^mnt_id:\s+(\d+)/m.exec(info) : null;
        if (m && Number(m[1]) === old.id) how.add('fd');
      }
      const maps = (await readMapsBounded(host, [h.pid], '', MAPS_DEADLINE_MS)).get(h.pid) ?? '';
      if (maps.split('\n').some((l) => l.split(/\s+/)[3] === hexDev && /\s\/\S/.test(l))) how.add('map');
      const links = (['cwd', 'root', 'exe'] as const).filter((w) => h.how.includes(w));
      await Promise.all(
        links.map(async (w) => {
          const r = await host.exec(['stat', '-L', '-c', '%Hd:%Ld', '--', host.proc(h.pid, w)], { timeoutMs: 2000 });
          // A failure (ENOTCONN, a timeout) means the link still leads into the dead mount.
          if (r.code !== 0 || r.stdout.trim() === oldDev) how.add(w);
        }),
      );
      if (how.size > 0) {
        const { start: _s, ...holder } = h;
        out.push({ ...holder, how: [...how] });
      }
    }),
  );
  return out.sort((a, b) => a.pid - b.pid);
}
