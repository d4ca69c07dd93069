import { LINUX_ERRNOS, LINUX_ERRNO_ALIASES, LIBUV_MESSAGES } from './generated/errno-data.js';

// Linux errno names and numbers, from the table generated at build time (scripts/gen-errno-table.mjs:
// kernel uapi headers and glibc). Nothing is read from the running system, so the answers are the
// same on Alpine, distroless or a machine without perl or python. `message` is Node's wording (libuv's,
// capitalised, as Node's own errors print it) where libuv has one, else glibc's; explain's catalog
// keeps glibc's wording separately (glibcMessage).
export interface ErrnoInfo {
  name: string;
  number: number;
  message: string;
}

const libuvWording = new Map(LIBUV_MESSAGES.map(([n, m]) => [n, m]));
const glibcWording = new Map(LINUX_ERRNOS.map(([n, , m]) => [n, m]));
const byName = new Map<string, ErrnoInfo>();
const byNumber = new Map<number, ErrnoInfo>();
for (const [name, number, glibc] of LINUX_ERRNOS) {
  const uv = libuvWording.get(name);
  const info = { name, number, message: uv ? uv[0]!.toUpperCase() + uv.slice(1) : glibc };
  byName.set(name, info);
  if (!byNumber.has(number)) byNumber.set(number, info);
}
// glibc also names EOPNOTSUPP ENOTSUP (bits/errno.h); the kernel headers do not.
for (const [alias, name] of [...LINUX_ERRNO_ALIASES, ['ENOTSUP', 'EOPNOTSUPP'] as const]) {
  const target = byName.get(name);
  if (target) byName.set(alias, { ...target, name: alias });
}

// Look up an errno by name (`ENOTCONN`, case-insensitive).
export function errnoByName(name: string): ErrnoInfo | null {
  return byName.get(name.toUpperCase()) ?? null;
}

// Look up an errno by its Linux number (107 is ENOTCONN).
export function errnoByNumber(n: number): ErrnoInfo | null {
  return byNumber.get(n) ?? null;
}

// Look up an errno by its strerror message (glibc's or libuv's), ignoring case and a trailing period.
export function errnoByMessage(message: string): ErrnoInfo | null {
  const want = normaliseMessage(message);
  for (const info of byNumber.values()) {
    if (normaliseMessage(info.message) === want) return info;
    const glibc = glibcWording.get(info.name);
    if (glibc !== undefined && normaliseMessage(glibc) === want) return info;
  }
  return null;
}

// glibc's strerror text for an errno, in the C locale.
export function glibcMessage(name: string): string | null {
  return glibcWording.get(name) ?? null;
}

// libuv's wording for an errno, when Node words it differently from glibc ("i/o error").
export function libuvMessage(name: string): string | null {
  return libuvWording.get(name) ?? null;
}

// Every Linux errno, in number order (aliases such as EWOULDBLOCK are not repeated).
export function allErrnos(): ErrnoInfo[] {
  return [...byNumber.values()].sort((a, b) => a.number - b.number);
}

function normaliseMessage(s: string): string {
  return s.trim().toLowerCase().replace(/\.$/, '');
}
