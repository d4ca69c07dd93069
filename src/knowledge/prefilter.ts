import type { ErrnoCatalog } from './catalog.js';
import { MEANINGS } from './meanings.js';
import { TOOL_PHRASES } from './tool-phrases.js';

// The errnos `explain --log` looks for: every errno enotconn has guidance for, except ENOENT,
// whose "No such file or directory" fills ordinary logs without saying anything about mounts or
// sockets (mount(8)'s "mount point does not exist" is still found through its own wording).
export function scanErrnos(): Set<string> {
  const set = new Set(Object.keys(MEANINGS));
  set.delete('ENOENT');
  return set;
}

// Literal substrings, one of which every line the log scanner reports contains: each errno name
// (behind one shared "E"), each strerror wording minus a capital first letter (libc capitalises
// it, Go does not), and each tool phrase's anchor. A line that gives only a number ("errno=107") without
// the name or the message is not looked for in logs.
export interface Prefilter {
  names: string[]; // without the leading E
  literals: string[];
}

// Why two expressions: V8's irregexp skips ahead (Boyer-Moore) only when every alternative is
// long; one 3-character name ("EIO") in the same alternation made the whole scan 1.6x slower.
export interface PrefilterRegExps {
  names: RegExp;
  literals: RegExp;
}

// Build the anchors for `errnos` from this system's catalog.
export function buildPrefilter(catalog: ErrnoCatalog, errnos: ReadonlySet<string>): Prefilter {
  const names = new Set<string>();
  const literals = new Set<string>();
  for (const name of errnos) {
    const e = catalog.name(name);
    if (!e) continue;
    names.add(e.name.slice(1));
    // libc capitalises the first letter and Go lower-cases it: drop it. libuv's wording is printed
    // lower-case ("i/o error"); a short anchor such as "/o error" would match every path in a log.
    for (const m of e.messages)
      if (m.length >= 9) literals.add(/^[A-Za-z][a-z ]/.test(m) ? m.slice(1) : m[0]!.toLowerCase() + m.slice(1));
  }
  for (const p of TOOL_PHRASES) literals.add(p.anchor);
  // An anchor that contains another anchor adds nothing.
  const lits = [...literals].filter((a) => ![...literals].some((b) => b !== a && a.includes(b)));
  return {
    names: [...names].sort((a, b) => b.length - a.length || a.localeCompare(b)),
    literals: lits.sort((a, b) => b.length - a.length || a.localeCompare(b)),
  };
}

const escJs = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// The pre-filter as two global JavaScript RegExps, for scanning a whole chunk.
export function prefilterRegExps(p: Prefilter): PrefilterRegExps {
  return {
    names: new RegExp(`E(?:${p.names.map(escJs).join('|')})`, 'g'),
    literals: new RegExp(p.literals.map(escJs).join('|'), 'g'),
  };
}

// The same pre-filter as one POSIX extended regular expression, for `grep -cE` in the benchmark.
export function prefilterEre(p: Prefilter): string {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `E(${p.names.map(esc).join('|')})|${p.literals.map(esc).join('|')}`;
}
