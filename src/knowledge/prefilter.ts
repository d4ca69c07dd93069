import { isUnspacedScript, type ErrnoCatalog } from './catalog.js';
import { MEANINGS } from './meanings.js';
import { ALL_PHRASES } from './tool-phrases.js';

// Lines that give an errno only as a number or under another language's name: a Python
// "[Errno 54]", a Windows "[WinError 10054]", Node's "errno: -4077", a kernel "error -104", Envoy's
// "delayed connect error: 111", Java's and Python's exception names, Erlang's atoms.
// Every anchor is at least 8 bytes long (see PrefilterRegExps).
const digits = (stem: string): string[] => [...'-123456789'].map((d) => stem + d);
const NUMBER_AND_NAME_ANCHORS = [
  ...digits('[Errno '),
  ...digits('error -'),
  ...digits('errno: '),
  ...digits(' errno='),
  'WinError',
  'winerror',
  'os error',
  'return code = -',
  'CIFS: VFS',
  'Socket error',
  'socket error',
  'SocketException',
  'delayed connect error',
  'WSAECONN',
  'WSAENOTCONN',
  'WSAETIMEDOUT',
  'WSAHOST_NOT_FOUND',
  'NotYetConnected',
  'ConnectionResetError',
  'ConnectionRefusedError',
  'ConnectionAbortedError',
  'BrokenPipeError',
  'NotConnected',
  'ConnectionReset',
  'UnknownHostException',
  'NoRouteToHostException',
  'econnrefused',
  'econnreset',
  'enotconn',
  'etimedout',
  'ehostunreach',
  'nxdomain',
  'Connection reset',
  'termination_state',
  'through socket',
];

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
  // Other platforms' and languages' wordings: Windows Sockets texts (and their translations) by their
  // first words, glibc's translations whole.
  for (const w of catalog.wordings) {
    if (!errnos.has(w.entry.name) || (w.source !== 'windows' && w.source !== 'darwin' && w.locale === null)) continue;
    const unspaced = isUnspacedScript(w.text);
    const text = w.prefix ? w.text.slice(0, unspaced ? 10 : 28).trim() : w.text;
    if (Buffer.byteLength(text) < 9) continue;
    // The matcher lower-cases; the log does not: drop a Latin first letter, as above.
    literals.add(/^[a-z][a-z ]/.test(text) ? text.slice(1) : text);
  }
  for (const p of ALL_PHRASES) literals.add(p.anchor);
  for (const a of NUMBER_AND_NAME_ANCHORS) literals.add(a);
  // An anchor that contains another anchor adds nothing.
  const lits = [...literals].filter((a) => ![...literals].some((b) => b !== a && a.includes(b)));
  return {
    names: [...names].sort((a, b) => b.length - a.length || a.localeCompare(b)),
    literals: lits.sort((a, b) => b.length - a.length || a.localeCompare(b)),
  };
}

const escJs = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// The pre-filter as two global JavaScript RegExps, for scanning a whole chunk. The log scanner reads
// bytes as latin1 (one char per byte), so a non-ASCII anchor is matched as its UTF-8 bytes.
export function prefilterRegExps(p: Prefilter): PrefilterRegExps {
  const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
  return {
    names: new RegExp(`E(?:${p.names.map(escJs).join('|')})`, 'g'),
    literals: new RegExp(p.literals.map((l) => escJs(bytes(l))).join('|'), 'g'),
  };
}

// The same pre-filter as one POSIX extended regular expression, for `grep -cE` in the benchmark.
export function prefilterEre(p: Prefilter): string {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `E(${p.names.map(esc).join('|')})|${p.literals.map(esc).join('|')}`;
}
