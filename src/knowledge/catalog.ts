import { allErrnos } from './errnos.js';
import type { LibcErrno } from './strerror.js';

// Every errno this system knows, with each wording it is printed in: libc's strerror text (what ls,
// Python, nginx and Go print) and libuv's (what Node prints). Built from the running system only.
export interface CatalogEntry {
  name: string;
  number: number;
  message: string; // libc's wording when known, else libuv's
  messages: string[]; // every wording, for matching
}

export class ErrnoCatalog {
  readonly entries: CatalogEntry[];
  private readonly byName = new Map<string, CatalogEntry>();
  private readonly byNumber = new Map<number, CatalogEntry>();
  private readonly byMessage = new Map<string, CatalogEntry>();

  constructor(libc: readonly LibcErrno[]) {
    const libcByNumber = new Map<number, string>();
    for (const l of libc) libcByNumber.set(l.number, l.message);
    this.entries = allErrnos().map((e) => {
      const l = libcByNumber.get(e.number);
      const messages = [...new Set([l, e.message].filter((m): m is string => m !== undefined && m !== e.name))];
      return { name: e.name, number: e.number, message: l ?? e.message, messages };
    });
    // Names libc knows and Node does not (os.constants.errno has no EHOSTDOWN).
    const known = new Set(this.entries.map((e) => e.name));
    for (const l of libc) {
      if (!known.has(l.name))
        this.entries.push({ name: l.name, number: l.number, message: l.message, messages: [l.message] });
    }
    this.entries.sort((a, b) => a.number - b.number || a.name.localeCompare(b.name));
    for (const e of this.entries) {
      this.byName.set(e.name, e);
      if (!this.byNumber.has(e.number)) this.byNumber.set(e.number, e);
      for (const m of e.messages) if (!this.byMessage.has(normalise(m))) this.byMessage.set(normalise(m), e);
    }
    // Aliases (EWOULDBLOCK = EAGAIN, ENOTSUP = EOPNOTSUPP) share a number: name lookups keep both.
  }

  // `ENOTCONN`, case-insensitive.
  name(name: string): CatalogEntry | null {
    return this.byName.get(name.toUpperCase()) ?? null;
  }

  // 107 → ENOTCONN.
  number(n: number): CatalogEntry | null {
    return this.byNumber.get(n) ?? null;
  }

  // An exact message in any wording, ignoring case and a trailing period.
  message(text: string): CatalogEntry | null {
    return this.byMessage.get(normalise(text)) ?? null;
  }
}

function normalise(s: string): string {
  return s.trim().toLowerCase().replace(/\.$/, '');
}
