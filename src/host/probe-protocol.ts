// The probe engine's wire format, spoken by the native helper (native/enotconn-helper.c) and by
// the Node probe child alike, so the runner has one client for both. One request or reply per
// line; paths are hex-encoded bytes, so a mountpoint may hold any byte, newlines included.
//   P <id> <timeout_ms> <uid|-1> <gid|-1> <key_hash|-> <hex_path>      probe
//   R <id> <timeout_ms> <max_bytes> <hex_path>                         bounded read
//   L <id> <timeout_ms> <hex_path>                                     bounded readlink
//   O <id> <timeout_ms> <uid|-1> <gid|-1> <key_hash|-> <lo_us> <hi_us> <hex_path>  quiet probe (helper)
//   Z <id> <le_us,...|->                                               barrier after quiet probes
// Replies: `P <id> ok <us>`, `P <id> err <errno> <s|l> <us>`, `H <id>` (deadline passed),
// `B <id> <since_ms>` (another live process holds a probe of this mount), `U <key_hash> <us>`
// (an abandoned probe returned), `D <id> ok <hex>`, `D <id> err <errno>`, `D <id> hung`, `E <id> <why>`,
// `Z <id> done <n> <count:sum_us,...>` (of the quiet probes between the last Z and this one, n were
// left out; per bucket of le_us and +Inf, how many and their latencies' sum).

// A request for one probe.
export interface ProbeRequest {
  id: number;
  timeoutMs: number;
  uid: number; // -1: as the engine's own user
  gid: number;
  hash: string; // registry name of the mount, or '-' for none
  path: string;
}

// The UTF-8 bytes of `s` as lowercase hex.
export function toHex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex');
}

// Who the engine runs a probe of `target` as, when the caller is `selfUid`: the target's own user
// when it names another one (a FUSE mount without allow_other, DESIGN §7), else -1 (the engine's).
export function probeIds(target: { uid?: number; gid?: number }, selfUid: number): { uid: number; gid: number } {
  if (target.uid === undefined || target.uid === selfUid) return { uid: -1, gid: -1 };
  return { uid: target.uid, gid: target.gid ?? target.uid };
}

// The probe request line for `r` (`hexPath`: its path already hex-encoded, when the caller keeps it).
export function probeLine(r: ProbeRequest, hexPath: string = toHex(r.path)): string {
  return `P ${r.id} ${Math.max(1, Math.round(r.timeoutMs))} ${r.uid} ${r.gid} ${r.hash} ${hexPath}`;
}

// The native helper's quiet probe (O): as `probeLine`, but a healthy answer whose latency lies in
// [band[0], band[1]) µs is left out; a barrier (`Z`) says when the ones sent before it are done.
export function quietProbeLine(
  r: ProbeRequest,
  band: readonly [number, number],
  hexPath: string = toHex(r.path),
): string {
  const [lo, hi] = band.map((n) => Math.max(0, Math.round(n))) as [number, number];
  return `O ${r.id} ${Math.max(1, Math.round(r.timeoutMs))} ${r.uid} ${r.gid} ${r.hash} ${lo} ${Math.max(hi, lo + 1)} ${hexPath}`;
}

// The process table request line (the helper's T): every process above `afterPid`, and at most
// `lastPid` when one is given (a table read in pid ranges), its `letters` fields each.
export function tableLine(r: {
  id: number;
  timeoutMs: number;
  afterPid: number;
  lastPid: number | null;
  letters: string;
  hexPrefix: string; // '-': no maps prefix
}): string {
  const last = r.lastPid === null ? '' : ` ${r.lastPid}`;
  return `T ${r.id} ${Math.max(1, Math.round(r.timeoutMs))} ${r.afterPid} ${r.letters} ${r.hexPrefix}${last}`;
}

// A request for one bounded read of a /proc or /sys file, or (link) one readlink of a /proc link.
export interface ReadRequest {
  id: number;
  timeoutMs: number;
  maxBytes: number; // at most 4 MiB (a readlink: at most PATH_MAX)
  path: string;
  link?: boolean;
}

export const READ_MAX_BYTES = 4 * 1024 * 1024;

// The request line for `r`: `R <id> <timeout_ms> <max_bytes> <hex_path>` or `L <id> <timeout_ms> <hex_path>`.
export function readLine(r: ReadRequest): string {
  const ms = Math.max(1, Math.round(r.timeoutMs));
  return r.link ? `L ${r.id} ${ms} ${toHex(r.path)}` : `R ${r.id} ${ms} ${r.maxBytes} ${toHex(r.path)}`;
}

// Parse a bounded-read or readlink request line; null when it is malformed.
export function parseReadLine(line: string): ReadRequest | null {
  const f = line.split(' ');
  const link = f[0] === 'L';
  if (link ? f.length !== 4 : f.length !== 5 || f[0] !== 'R') return null;
  const [id, timeoutMs] = [f[1], f[2]].map(Number) as [number, number];
  const maxBytes = link ? 4096 : Number(f[3]);
  const hex = f.at(-1)!;
  if (![id, timeoutMs, maxBytes].every(Number.isInteger) || timeoutMs <= 0) return null;
  if (maxBytes <= 0 || maxBytes > READ_MAX_BYTES || !/^[0-9a-f]+$/.test(hex) || hex.length % 2 !== 0) return null;
  const path = Buffer.from(hex, 'hex').toString('utf8');
  if (!path.startsWith('/') || path.includes('\0')) return null;
  return { id, timeoutMs, maxBytes, path, ...(link ? { link: true } : {}) };
}

// Parse a probe request line; null when it is malformed.
export function parseProbeLine(line: string): ProbeRequest | null {
  const f = line.split(' ');
  if (f.length !== 7 || f[0] !== 'P') return null;
  const [id, timeoutMs, uid, gid] = [f[1], f[2], f[3], f[4]].map(Number) as [number, number, number, number];
  const hash = f[5]!;
  const hex = f[6]!;
  if (![id, timeoutMs, uid, gid].every(Number.isInteger) || timeoutMs <= 0) return null;
  if (!/^[0-9a-f]+$/.test(hex) || hex.length % 2 !== 0 || hash.includes('/') || hash === '') return null;
  const path = Buffer.from(hex, 'hex').toString('utf8');
  if (!path.startsWith('/') || path.includes('\0')) return null;
  return { id, timeoutMs, uid, gid, hash, path };
}
