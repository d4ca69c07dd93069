import { EnotconnError } from '../../errors.js';
import { bytesToUtf8, unescapeOctal } from './unescape.js';

// One line of /proc/<pid>/mountinfo (Documentation/filesystems/proc.rst, "3.5 /proc/<pid>/mountinfo"):
// 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
// (1)(2)(3)   (4)   (5)         (6)       (7)      (8)(9)  (10)      (11)
export interface MountInfo {
  id: number; // (1) mount ID, unique in the namespace, reused after unmount
  parentId: number; // (2)
  major: number; // (3) st_dev of files on this fs
  minor: number; // for FUSE, the connection id under /sys/fs/fuse/connections
  root: string; // (4) path of the mount's root within its filesystem
  mountpoint: string; // (5) relative to the process's root
  options: string[]; // (6) per-mount options
  optionalFields: string[]; // (7) shared:N master:N propagate_from:N unbindable
  fstype: string; // (9) full type, "fuse.sshfs"
  type: string; // main type, "fuse"
  subtype: string | null; // "sshfs"; null when there is none
  source: string; // (10) "user@host:/path", "server:/export", "//server/share"
  superOptions: string[]; // (11) per-superblock options
  deleted: boolean; // the root or mountpoint carried the kernel's "//deleted" suffix
}

const DELETED = '//deleted';

// Parse the whole text of a mountinfo file (read as latin1 bytes). Malformed lines throw.
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = parseMountinfoLine(line);
    if (!m) throw new EnotconnError('ENC_BAD_INPUT', `mountinfo line ${i + 1} is malformed: ${JSON.stringify(line)}`);
    out.push(m);
  }
  return out;
}

// Parse one mountinfo line, or null when it does not have the documented shape.
export function parseMountinfoLine(line: string): MountInfo | null {
  // Fields are separated by single spaces; escapes guarantee no field contains a raw space.
  const f = line.split(' ');
  const sep = f.indexOf('-', 6);
  if (f.length < 10 || sep < 6 || f.length < sep + 3) return null;
  const [idS, parentS, dev, rootE, mpE, opts] = f as [string, string, string, string, string, string];
  const devM = /^(\d+):(\d+)$/.exec(dev);
  if (!/^\d+$/.test(idS) || !/^\d+$/.test(parentS) || !devM) return null;
  const fstype = decode(f[sep + 1]!);
  const dot = fstype.indexOf('.');
  let root = decode(rootE);
  let mountpoint = decode(mpE);
  let deleted = false;
  if (root.endsWith(DELETED) && root !== DELETED) {
    root = root.slice(0, -DELETED.length);
    deleted = true;
  }
  if (mountpoint.endsWith(DELETED) && mountpoint !== DELETED) {
    mountpoint = mountpoint.slice(0, -DELETED.length);
    deleted = true;
  }
  return {
    id: Number(idS),
    parentId: Number(parentS),
    major: Number(devM[1]),
    minor: Number(devM[2]),
    root,
    mountpoint,
    options: opts.split(','),
    optionalFields: f.slice(6, sep),
    fstype,
    type: dot > 0 ? fstype.slice(0, dot) : fstype,
    subtype: dot > 0 ? fstype.slice(dot + 1) : null,
    source: decode(f[sep + 2]!),
    superOptions: (f[sep + 3] ?? '').split(',').filter((o) => o !== ''),
    deleted,
  };
}

// Most fields are plain ASCII with no escape: those are their own decoding (a 1,000-mount table
// decoded four fields a line through a Buffer each).
const NEEDS_DECODING = /[\\\x80-\xff]/;

function decode(field: string): string {
  return NEEDS_DECODING.test(field) ? bytesToUtf8(unescapeOctal(field)) : field;
}

// The value of `key=value` in a list of mount options, or undefined.
export function optionValue(options: readonly string[], key: string): string | undefined {
  const prefix = `${key}=`;
  const hit = options.find((o) => o.startsWith(prefix));
  return hit === undefined ? undefined : hit.slice(prefix.length);
}

// True when `key` or `key=...` is among the options.
export function hasOption(options: readonly string[], key: string): boolean {
  return options.some((o) => o === key || o.startsWith(`${key}=`));
}
