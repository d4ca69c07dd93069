import os from 'node:os';
import util from 'node:util';

// Errno names, numbers and messages, read from the running system rather than copied by hand:
// os.constants.errno gives name→number for this platform, util.getSystemErrorMap() gives
// number→[name, message] from libuv (uv_strerror mirrors strerror(3) on Linux).
export interface ErrnoInfo {
  name: string;
  number: number;
  message: string;
}

let byName: Map<string, ErrnoInfo> | null = null;
let byNumber: Map<number, ErrnoInfo> | null = null;

function load(): void {
  if (byName && byNumber) return;
  byName = new Map();
  byNumber = new Map();
  const map = util.getSystemErrorMap();
  for (const [name, num] of Object.entries(os.constants.errno)) {
    // libuv keys the map by its negative UV_E* value, which equals -errno on Linux.
    const entry = map.get(-num);
    const message = entry ? entry[1] : name;
    const info: ErrnoInfo = { name, number: num, message: capitalise(message) };
    byName.set(name, info);
    if (!byNumber.has(num)) byNumber.set(num, info);
  }
}

function capitalise(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) : s;
}

// Look up an errno by name (`ENOTCONN`, case-insensitive).
export function errnoByName(name: string): ErrnoInfo | null {
  load();
  return byName!.get(name.toUpperCase()) ?? null;
}

// Look up an errno by number (107 on Linux is ENOTCONN).
export function errnoByNumber(n: number): ErrnoInfo | null {
  load();
  return byNumber!.get(n) ?? null;
}

// Look up an errno by its strerror message, ignoring case and a trailing period.
export function errnoByMessage(message: string): ErrnoInfo | null {
  load();
  const want = normaliseMessage(message);
  for (const info of byName!.values()) {
    if (normaliseMessage(info.message) === want) return info;
  }
  return null;
}

// Every errno this system knows, in number order.
export function allErrnos(): ErrnoInfo[] {
  load();
  return [...byNumber!.values()].sort((a, b) => a.number - b.number);
}

function normaliseMessage(s: string): string {
  return s.trim().toLowerCase().replace(/\.$/, '');
}
