import { isUnspacedScript, type ErrnoCatalog } from './catalog.js';
import { MEANINGS } from './meanings.js';
import { ALL_PHRASES } from './tool-phrases.js';

// Lines that give an errno only as a number or under another language's name: a Python
// "[Errno 54]", a Windows "[WinError 10054]", Node's "errno: -4077", a kernel "error -104", Envoy's
// "delayed connect error: 111", Java's and Python's exception names, Erlang's atoms.
// The fewest 5-character stems that cover every anchor, picked greedily (the stem in most uncovered
// anchors first). Deterministic for a given anchor list; an anchor too short for a stem is its own.
export function gateStems(anchors: readonly string[], size = 5): string[] {
  let left = [...anchors];
  const stems: string[] = [];
  while (left.length > 0) {
    const count = new Map<string, number>();
    for (const l of left) {
      const seen = new Set<string>();
      for (let i = 0; i + size <= l.length; i++) {
        const g = l.slice(i, i + size);
        if (/[0-9]/.test(g) || seen.has(g)) continue;
        seen.add(g);
        count.set(g, (count.get(g) ?? 0) + 1);
      }
    }
    let best: string | null = null;
    let n = 0;
    for (const [g, c] of [...count].sort((x, y) => x[0].localeCompare(y[0]))) if (c > n) [best, n] = [g, c];
    if (best === null) {
      stems.push(...left);
      break;
    }
    const stem = best;
    stems.push(stem);
    left = left.filter((l) => !l.includes(stem));
  }
  return stems;
}

const KEY_WINDOWS = new Set(['ECONNRESET', 'ECONNABORTED', 'ECONNREFUSED', 'ETIMEDOUT', 'ENOTCONN', 'EAI_NONAME']);

// Every anchor is at least 8 bytes long (see PrefilterRegExps).
const NUMBER_AND_NAME_ANCHORS = [
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
  // Regular-expression fragments (valid as JavaScript and as POSIX ERE): a fixed prefix of at least
  // 7 bytes, then a digit. One fragment instead of ten literals keeps the alternation short.
  patterns: string[];
}

const NUMBER_PATTERNS = ['\\[Errno -?[0-9]', 'error -[0-9]', ' errno=-?[0-9]', 'errno: -?[0-9]'];

// Why two expressions: V8's irregexp skips ahead (Boyer-Moore) only when every alternative is
// long; one 3-character name ("EIO") in the same alternation made the whole scan 1.6x slower.
export interface PrefilterRegExps {
  names: RegExp;
  // Short stems that every ASCII anchor contains ("onnec", "errno", "ocket"): scanned over the whole
  // chunk. A hundred long anchors in one alternation defeat irregexp's skip-ahead (measured
  // 191 MB/s); 38 stems run at 295 MB/s, and a line they find is then tested against `literals`.
  gate: RegExp;
  literals: RegExp; // the ASCII anchors
  // Non-ASCII anchors (translated wordings) are hundreds: one alternation of them measured 30x
  // slower than the ASCII ones. A line is tested against them only when it has a non-ASCII byte.
  nonAscii: RegExp;
  translations: RegExp;
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
    // Why not the translations written in ASCII (Italian, Indonesian, most German ones): hundreds of
    // ASCII alternatives defeat irregexp's skip-ahead (measured 128 MB/s against 196 MB/s); the
    // non-ASCII ones are tested only on lines with a non-ASCII byte (PrefilterRegExps).
    if (w.locale !== null && /^[ -~]*$/.test(w.text)) continue;
    // Windows Sockets texts of the codes users paste; the others come with a number or a name.
    if (w.source === 'windows' && !KEY_WINDOWS.has(w.entry.name)) continue;
    const unspaced = isUnspacedScript(w.display);
    const shown = w.display.replace(/\s+/g, ' ');
    const text = w.prefix ? shown.slice(0, unspaced ? 10 : 28).trim() : shown;
    // The log keeps the case the program printed, which may differ in the first letter only (glibc
    // capitalises, Go lower-cases): drop a first letter that has a case, in any script.
    const first = text[0] ?? '';
    const anchor = first.toLowerCase() !== first.toUpperCase() ? text.slice(1) : text;
    if (Buffer.byteLength(anchor) < 9) continue;
    literals.add(anchor);
  }
  for (const p of ALL_PHRASES) literals.add(p.anchor);
  for (const a of NUMBER_AND_NAME_ANCHORS) literals.add(a);
  // An anchor that contains another anchor adds nothing.
  const lits = [...literals].filter((a) => ![...literals].some((b) => b !== a && a.includes(b)));
  return {
    names: [...names].sort((a, b) => b.length - a.length || a.localeCompare(b)),
    literals: lits.sort((a, b) => b.length - a.length || a.localeCompare(b)),
    patterns: [...NUMBER_PATTERNS],
  };
}

const escJs = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

// The pre-filter as two global JavaScript RegExps, for scanning a whole chunk. The log scanner reads
// bytes as latin1 (one char per byte), so a non-ASCII anchor is matched as its UTF-8 bytes.
export function prefilterRegExps(p: Prefilter): PrefilterRegExps {
  const bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
  const ascii = p.literals.filter((l) => /^[ -~]*$/.test(l));
  const other = p.literals.filter((l) => !/^[ -~]*$/.test(l));
  // Every anchor holds a stem, so the gate never misses a line (the number patterns by their prefixes).
  const gate = gateStems([...ascii, '[Errno ', 'error -', ' errno=', 'errno: ']);
  return {
    names: new RegExp(`E(?:${p.names.map(escJs).join('|')})`, 'g'),
    gate: new RegExp(gate.map(escJs).join('|'), 'g'),
    literals: new RegExp([trieSource(ascii), ...p.patterns].join('|'), 'g'),
    nonAscii: /[\x80-\xff]/g,
    translations: new RegExp(other.length > 0 ? other.map((l) => escJs(bytes(l))).join('|') : '(?!)'),
  };
}

// An alternation of literals as a trie ("onnection (?:reset|refused)"): irregexp then tests one
// branch per character instead of every alternative at every position (measured 1.2x faster).
function trieSource(words: readonly string[]): string {
  interface Node {
    end: boolean;
    next: Map<string, Node>;
  }
  const root: Node = { end: false, next: new Map() };
  for (const w of words) {
    let n = root;
    for (const ch of w) {
      let c = n.next.get(ch);
      if (!c) n.next.set(ch, (c = { end: false, next: new Map() }));
      n = c;
    }
    n.end = true;
  }
  const emit = (n: Node): string => {
    if (n.end) return ''; // a shorter anchor already matches
    const parts = [...n.next].map(([ch, c]) => escJs(ch) + emit(c));
    return parts.length === 1 ? parts[0]! : `(?:${parts.join('|')})`;
  };
  return emit(root);
}

// The same pre-filter as one POSIX extended regular expression, for `grep -cE` in the benchmark.
export function prefilterEre(p: Prefilter): string {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `E(${p.names.map(esc).join('|')})|${[...p.literals.map(esc), ...p.patterns].join('|')}`;
}
