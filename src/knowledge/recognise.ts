import { isUnspacedScript, normaliseText, type CatalogEntry, type ErrnoCatalog, type Wording } from './catalog.js';
import { NAMED_CONSTANTS } from './constants.js';
import { MEANINGS } from './meanings.js';
import { darwinErrno, darwinName, libuvNumber, wsaByNumberOrCode, wsaForErrno, type Platform } from './platforms.js';
import { ALL_PHRASES, TOOL_PHRASES } from './tool-phrases.js';
import { DARWIN_GAI } from './platforms.js';

export type Confidence = 'high' | 'medium' | 'low';

// What one line says, before any interpretation: the errno and how it was found, the platform its
// number or wording implies, and the tool, syscall, path and peer the line names.
export interface Recognised {
  errno: CatalogEntry;
  via: 'name' | 'number' | 'message' | 'phrase' | 'constant';
  tool: string | null;
  syscall: string | null;
  path: string | null;
  peer: string | null;
  phraseContext: 'mount' | 'socket' | 'dns' | null;
  note: string | null;
  platform: Platform | 'any';
  platformCode: string | null; // WSAECONNRESET, when the line is Windows'
  reportedNumber: number | null; // the number as the line printed it
  locale: string | null; // the language of the wording matched, when not English
  restsOn: string[];
  confidence: Confidence;
}

export interface RecogniseOptions {
  // Limit errno names and messages to these errnos (log scanning: what its pre-filter can see).
  only?: ReadonlySet<string>;
}

const FS_TOOLS =
  /^(?:ls|cat|stat|cp|mv|rm|rsync|df|du|find|tar|mkdir|rmdir|touch|chmod|chown|ln|head|tail|less|tee|dd|cd|test|bash|sh|zsh|mount(?:\.[\w-]+)?|umount(?:\.[\w-]+)?|fusermount3?|sshfs|rclone|s3fs|gcsfuse|blobfuse2|mount-s3|bindfs|findmnt)$/;

// Node: "Error: read ECONNRESET", "connect ECONNREFUSED 127.0.0.1:5432", "Error: ENOTCONN: ..., stat '/x'".
const NODE_SYSCALL =
  /(?:^|\b)(read|write|writev|connect|shutdown|accept|listen|bind|getaddrinfo|spawn|stat|lstat|statfs|open|scandir|mkdir|rmdir|unlink|rename|readlink|access|chdir|uv_cwd|realpath|close|send|recv) (E[A-Z_]{2,})\b/;
const NODE_FS_TAIL = /\bE[A-Z]{2,}: [^,]+, (\w+) '([^']+)'/;
const NODE_FIELD_SYSCALL = /\bsyscall: '(\w+)'/;
// Go: "read tcp 10.0.0.1:5000->10.0.0.2:80: read: connection reset by peer", "dial tcp ...: connect: ...".
const GO_NET = /\b(read|write|dial|accept|listen|close|readfrom) (tcp|tcp4|tcp6|udp|udp4|udp6|unix|unixgram|ip)\b/;
const GO_INNER =
  /: (read|write|connect|accept|shutdown|sendto|recvfrom|sendmsg|recvmsg|socket|bind|wsarecv|wsasend|connectex): /;
// Go and many C tools: "stat /mnt/x: transport endpoint is not connected".
const OP_PATH =
  /\b(stat|lstat|statfs|statx|open|openat|mkdir|chdir|readdir|opendir|unlink|rename|readlink|getdents|truncate|chmod|chown|remove|umount|mount)\s+'?(\/[^\s:']*)'?:/;
// strace: stat("/mnt/x", 0x7ff...) = -1 ENOTCONN (Transport endpoint is not connected)
const STRACE = /\b(\w+)\("(\/[^"]*)"[^)]*\)\s+=\s+-1\s+E[A-Z]+/;
const STRACE_SOCK = /\b(\w+)\(\d+,[^=]*\)\s+=\s+-1\s+E[A-Z]+/;
// nginx and C programs: "recv() failed (104: Connection reset by peer)", "recvAddress(..) failed".
const C_CALL = /\b(\w+)\((?:\.\.)?\) failed\b/;
// "read: connection reset by peer", "write error: Broken pipe", OpenSSH "send disconnect: Broken pipe".
const BARE_OP = /\b(read|write|recv|send|connect|shutdown|accept|getpeername)(?: error| disconnect)?: /;
const OP_FAILED = /\b(shutdown|connect|accept|recv|send|getpeername) failed\b/;
const IN_CALL = /\bin (getpeername|shutdown|connect|accept|recv|send|sendmsg|recvmsg)\b/;

const QUOTED_PATH = /(?:'|‘|`|")(\/[^'"’`\n]*)(?:'|’|")/;
const PATH_COLON = /(?:^|[\s(])(\/[^\s:'"(),]+)(?=:\s|:$)/;
const PATH_AFTER_ON = /\b(?:on|at|mountpoint|mount point|for)\s+(\/[^\s:'",;]+)/;

const IPV4_PEER = /\b(\d{1,3}(?:\.\d{1,3}){3}:\d{1,5})\b/g;
const IPV6_PEER = /(\[[0-9a-fA-F:.]+\]:\d{1,5})/g;
const HOST_PEER = /\b((?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,}):\d{2,5})\b/g;
const UPSTREAM = /\bupstream: "[a-z]+:\/\/([^/"]+)/;
const ARROW_PEER = /->(\[[^\]]+\]:\d+|[^\s:]+:\d+)/;

// A number the line prints next to an errno marker, and what kind of marker it is.
type Marker = 'python' | 'windows' | 'node' | 'kernel' | 'paren' | 'plain' | 'envoy';
interface NumberHit {
  n: number;
  marker: Marker;
  text: string;
}

const NUMBER_PATTERNS: ReadonlyArray<readonly [RegExp, Marker]> = [
  [/\[WinError (\d+)\]/i, 'windows'],
  [/\bwinerror (\d+)/i, 'windows'],
  [/\bWindows? Error (\d{5})\b/i, 'windows'],
  [/\bSocketException \((\d{5})\)/, 'windows'],
  [/\[Errno (-?\d+)\]/, 'python'],
  [/\[Errno(-\d+)\]/, 'python'],
  [/\b\w*(?:Error|error)\((-?\d+), /, 'python'],
  [/\bdelayed connect error: (\d+)/, 'envoy'],
  [/\((\d{1,5}): [^)]+\)/, 'paren'],
  [/\[(\d{1,5}): [A-Za-z][^\]]*\]/, 'paren'],
  [/\berrno[\s:=]*['"]?(-?\d{1,5})\b/i, 'node'],
  [/\bos error (-?\d+)\b/i, 'plain'],
  [/\bcode: (\d+)\b/, 'plain'],
  [/\bCode=(\d+)\b/, 'plain'],
  [/\[system:(\d+)\]/, 'plain'],
  [/\bret=(-?\d+)\b/, 'plain'],
  [/\berror\((-?\d{1,3})\)/, 'plain'],
  [/(?:=|\berror|\berr|\bret|\brc|\bstatus|\breturned|\bresult|\bcode)\s*[:=]?\s*(-\d{1,3})\b/i, 'kernel'],
  [/(?:\bSocket error|\bsocket error|\bError|\berror) (\d{2,5})\b/, 'plain'],
  [/['"] \((\d{1,3})(?: "[^"]*")?\)/, 'paren'],
  [/(?:^|[\s(>])(\d{2,5}): \S/, 'plain'],
  [/(?:^|[\s,(])(1[01]0\d\d)(?=[\s,)])/, 'windows'],
];

// HAProxy termination state (the first two of its four characters): who ended the session, in
// which phase (configuration manual, "Session state at disconnection").
const HAPROXY_STATE = /(?:"termination_state":"|\s)([CScs])([CHDRQ])(?:--|"|\s)/;

// Find the errno a log line reports, or null when it reports none this catalog knows.
export function recogniseLine(line: string, catalog: ErrnoCatalog, opts: RecogniseOptions = {}): Recognised | null {
  const allowed = (e: CatalogEntry | null): e is CatalogEntry => e !== null && (!opts.only || opts.only.has(e.name));
  const restsOn: string[] = [];
  let errno: CatalogEntry | null = null;
  let via: Recognised['via'] = 'name';
  let note: string | null = null;
  let phraseContext: Recognised['phraseContext'] = null;
  let platform: Platform | 'any' = 'any';
  let platformCode: string | null = null;
  let locale: string | null = null;
  let confidence: Confidence = 'high';

  // 1. A name: Windows Sockets codes, errno names as tokens (Node, strace, Python's errno.ENOTCONN,
  //    Ruby's Errno::EPIPE, Go's syscall.ECONNRESET), getaddrinfo codes.
  const wsa = /\b(WSAE[A-Z]+|WSAHOST_NOT_FOUND|WSATRY_AGAIN|WSANO_DATA)\b/.exec(line);
  if (wsa) {
    const w = wsaByNumberOrCode(wsa[1]!);
    const e = w ? catalog.name(w.errno) : null;
    if (w && allowed(e)) {
      errno = e;
      platform = 'windows';
      platformCode = w.code;
      restsOn.push(`name ${w.code} (Windows Sockets ${w.number})`);
    }
  }
  if (!errno) {
    for (const m of line.matchAll(/(?<![A-Za-z0-9_])(E[A-Z0-9_]{2,14})(?![A-Za-z0-9_])/g)) {
      const e = catalog.name(m[1]!);
      if (allowed(e)) {
        errno = e;
        restsOn.push(m[1] === e.name ? `name ${e.name}` : `name ${m[1]} (${e.name})`);
        break;
      }
    }
  }
  // 2. A strerror wording in any language (capitalised by libc, lower-cased by Go).
  const msg = findWording(line, catalog, opts.only);
  if (!errno && msg) {
    errno = msg.entry;
    via = 'message';
    if (msg.prefix) confidence = 'medium';
  }
  if (msg && (!errno || msg.entry === errno)) {
    restsOn.push(`message "${msg.shown}" (${wordingSource(msg)})`);
    if (msg.locale) locale = msg.locale;
    if (platform === 'any' && msg.platform !== 'any') platform = msg.platform;
    if (msg.platform === 'windows' && !platformCode) platformCode = wsaForErrno(msg.entry.name)?.code ?? null;
  }
  // 3. Another language's name for it (Python's ConnectionResetError, Rust's kind: NotConnected).
  let constantContext: Recognised['phraseContext'] = null;
  for (const c of NAMED_CONSTANTS) {
    const m = c.re.exec(line);
    if (!m) continue;
    const e = catalog.name(c.errno);
    if (!allowed(e)) continue;
    if (!errno) {
      errno = e;
      via = 'constant';
      confidence = 'medium';
    }
    if (e === errno) {
      restsOn.push(`${c.who} name ${(m[1] ?? m[0]).replace(/^[{,:\s']+|^reason:?\s+:?/, '')}`);
      constantContext = c.context ?? null;
    }
    break;
  }
  // 4. Numbers: checked against the errno found so far, or read on their own.
  const numbers = numberHits(line);
  let reportedNumber: number | null = null;
  if (errno) {
    for (const h of numbers) {
      const reading = readingFor(errno, h);
      if (reading) {
        reportedNumber = h.n;
        if (platform === 'any' || platform === reading.platform || reading.platform === 'windows') {
          if (reading.platform !== 'any') platform = reading.platform;
        }
        if (reading.platform === 'windows' && !platformCode) platformCode = wsaForErrno(errno.name)?.code ?? null;
        restsOn.push(`number ${h.n} (${reading.why})`);
        if (via === 'message') confidence = 'high';
        break;
      }
    }
    if (reportedNumber === null) {
      const h = numbers.find((x) => x.marker !== 'plain' && x.marker !== 'paren') ?? null;
      if (h) {
        const linux = catalog.number(Math.abs(h.n));
        reportedNumber = h.n;
        restsOn.push(
          `number ${h.n} (${linux ? `${linux.name} in Linux numbering` : 'no errno on Linux'}; the ${via === 'name' ? 'name' : 'message'} wins)`,
        );
        if (via !== 'name') confidence = 'medium';
      }
    }
  } else {
    const fromNumber = errnoFromNumbers(numbers, catalog, line);
    if (fromNumber && allowed(fromNumber.entry)) {
      errno = fromNumber.entry;
      via = 'number';
      platform = fromNumber.platform;
      platformCode = fromNumber.code;
      reportedNumber = fromNumber.hit.n;
      confidence = fromNumber.confidence;
      restsOn.push(`number ${fromNumber.hit.n} (${fromNumber.why})`);
    }
  }
  // 5. A tool's own wording (Java "Connection reset", Go "i/o timeout", Envoy's reset reasons).
  if (!errno) {
    for (const p of ALL_PHRASES) {
      if (!p.re.test(line)) continue;
      const e = catalog.name(p.errno);
      if (allowed(e)) {
        errno = e;
        via = 'phrase';
        note = p.note;
        phraseContext = p.context ?? null;
        confidence = p.tool === 'envoy' && p.errno === 'ECONNREFUSED' ? 'low' : 'medium';
        restsOn.push(`${p.tool}'s wording "${p.re.exec(line)![0]}"`);
        break;
      }
    }
  }
  if (!errno) {
    const hs = HAPROXY_STATE.exec(line);
    if (hs && /haproxy|termination_state|\d+\/\d+\/\d+\/\d+\/\d+/.test(line)) {
      const name = haproxyErrno(hs[1]!, hs[2]!);
      const e = catalog.name(name);
      if (allowed(e)) {
        errno = e;
        via = 'phrase';
        phraseContext = 'socket';
        confidence = 'low';
        note = `HAProxy termination state ${hs[1]}${hs[2]}: ${haproxyMeaning(hs[1]!, hs[2]!)}`;
        restsOn.push(`HAProxy termination state ${hs[1]}${hs[2]}`);
      }
    }
  }
  if (!errno) return null;
  if (!phraseContext && constantContext) phraseContext = constantContext;
  // A tool phrase for the same errno still says where it happened ("mount.nfs: Connection timed out").
  if (!phraseContext) {
    const p = ALL_PHRASES.find((x) => x.errno === errno!.name && x.context && x.re.test(line));
    if (p) phraseContext = p.context ?? null;
  }
  if (errno.kind === 'gai') phraseContext = 'dns';
  if (via === 'message' && !msg?.prefix && reportedNumber === null && platform === 'any') confidence = 'high';
  const { syscall, path } = syscallAndPath(line);
  if (syscall) restsOn.push(`syscall ${syscall}()`);
  restsOn.push(`platform: ${PLATFORM_NAMES[platform]}`);
  return {
    errno,
    via,
    tool: toolOf(line),
    syscall,
    path,
    peer: peerOf(line),
    phraseContext,
    note,
    platform,
    platformCode,
    reportedNumber,
    locale,
    restsOn,
    confidence,
  };
}

export const PLATFORM_NAMES: Readonly<Record<Platform | 'any', string>> = {
  linux: 'Linux (glibc numbering and wording)',
  darwin: 'macOS/BSD (numbering differs from Linux)',
  windows: 'Windows (Windows Sockets)',
  any: 'not tied to one platform',
};

function wordingSource(w: Wording): string {
  const where =
    w.source === 'windows'
      ? 'Windows Sockets text'
      : w.source === 'darwin'
        ? 'macOS/BSD strerror'
        : w.source === 'libuv'
          ? "libuv's wording"
          : w.source === 'gai'
            ? 'gai_strerror'
            : w.platform === 'any' && !w.locale
              ? 'strerror; glibc and macOS word it alike'
              : 'glibc strerror';
  return w.locale ? `${where}, ${w.locale}` : where;
}

function numberHits(line: string): NumberHit[] {
  const out: NumberHit[] = [];
  for (const [re, marker] of NUMBER_PATTERNS) {
    const m = re.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    if (!Number.isInteger(n) || out.some((h) => h.n === n)) continue;
    out.push({ n, marker, text: m[0] });
  }
  return out;
}

// How a number agrees with an errno: on which platform that errno has that number.
function readingFor(e: CatalogEntry, h: NumberHit): { platform: Platform | 'any'; why: string } | null {
  const n = h.n;
  if (e.kind === 'gai') {
    if (n === e.number) return { platform: 'linux', why: `glibc's getaddrinfo code for ${e.name}` };
    const d = DARWIN_GAI.find(([name]) => name === e.name);
    if (d && d[1] === n) return { platform: 'darwin', why: `macOS's getaddrinfo code for ${e.name}` };
    const uv = libuvNumber(n);
    if (uv && uv.name === e.name) return { platform: 'any', why: `libuv's number for ${e.name}` };
    const w = wsaByNumberOrCode(n);
    if (w && w.errno === e.name) return { platform: 'windows', why: `Windows ${w.code}` };
    return null;
  }
  if (Math.abs(n) === e.number && n > -4000) return { platform: 'linux', why: `Linux numbering agrees` };
  const d = darwinErrno(e.name);
  if (d && Math.abs(n) === d.number)
    return { platform: 'darwin', why: `macOS/BSD numbering: ${e.name} is ${d.number} there` };
  const w = wsaByNumberOrCode(n);
  if (w && w.errno === e.name) return { platform: 'windows', why: `Windows Sockets ${w.code}` };
  const uv = libuvNumber(n);
  if (uv && uv.name === e.name)
    return { platform: uv.platform === 'windows' ? 'windows' : 'any', why: `libuv's number for ${e.name} on Windows` };
  return null;
}

// An errno read from numbers alone: Windows Sockets numbers, getaddrinfo codes, libuv's Windows
// numbers, and otherwise Linux numbering (said so, at lower confidence).
function errnoFromNumbers(
  hits: readonly NumberHit[],
  catalog: ErrnoCatalog,
  line: string,
): {
  entry: CatalogEntry;
  hit: NumberHit;
  platform: Platform | 'any';
  code: string | null;
  why: string;
  confidence: Confidence;
} | null {
  for (const h of hits) {
    // A Windows Sockets number is one whatever prints it.
    const wsaFirst = h.n >= 10000 ? wsaByNumberOrCode(h.n) : null;
    const wsaEntry = wsaFirst ? catalog.name(wsaFirst.errno) : null;
    if (wsaFirst && wsaEntry)
      return {
        entry: wsaEntry,
        hit: h,
        platform: 'windows',
        code: wsaFirst.code,
        why: `Windows Sockets ${wsaFirst.code}`,
        confidence: 'high',
      };
    if (h.marker === 'plain' && !/\b(?:errno|os error|code|Code=|system:|socket|Socket)\b/.test(h.text)) {
      // "Error 111" style: only with a network word nearby.
      if (!/\b(?:connect|connection|socket|refused|reset|timed out|host)\b/i.test(line)) continue;
    }
    if (h.marker === 'paren' && !/\bsocket\b|\bconnect\b/i.test(line) && !/: /.test(h.text)) continue;
    const w = h.n >= 10000 ? wsaByNumberOrCode(h.n) : null;
    if (w) {
      const e = catalog.name(w.errno);
      if (e)
        return {
          entry: e,
          hit: h,
          platform: 'windows',
          code: w.code,
          why: `Windows Sockets ${w.code}`,
          confidence: 'high',
        };
    }
    if (h.n < 0) {
      const uv = libuvNumber(h.n);
      if (uv) {
        const e = catalog.name(uv.name);
        if (e)
          return {
            entry: e,
            hit: h,
            platform: uv.platform,
            code: null,
            why: `libuv's number for ${uv.name}${uv.platform === 'windows' ? ' on Windows' : ''}`,
            confidence: 'high',
          };
      }
      if (h.marker === 'python') {
        const gai = catalog.number(h.n);
        if (gai && gai.kind === 'gai')
          return {
            entry: gai,
            hit: h,
            platform: 'linux',
            code: null,
            why: `glibc's getaddrinfo code ${gai.name}`,
            confidence: 'high',
          };
      }
    }
    const n = Math.abs(h.n);
    if (n === 0 || n > 200) continue;
    const linux = catalog.number(n);
    const dname = darwinName(n);
    // A number Linux gives an obscure errno and macOS a socket one (54, 57, 61, 65) reads as macOS's
    // when the line is about a connection.
    if (dname && (!linux || !MEANINGS[linux.name]) && MEANINGS[dname] && /connect|socket|host|errno/i.test(line)) {
      const e = catalog.name(dname);
      if (e)
        return {
          entry: e,
          hit: h,
          platform: 'darwin',
          code: null,
          why: `assumed macOS/BSD numbering: ${n} is ${dname} there${linux ? ` (${linux.name} on Linux)` : ''}`,
          confidence: 'low',
        };
    }
    // A number behind a weak marker ("Error 12", "(12)") is read only as an errno explain knows about.
    if (linux && (h.marker === 'plain' || h.marker === 'paren') && !MEANINGS[linux.name]) continue;
    if (linux)
      return {
        entry: linux,
        hit: h,
        platform: 'linux',
        code: null,
        why: `assumed Linux numbering: ${n} is ${linux.name}`,
        confidence: h.marker === 'plain' || h.marker === 'paren' ? 'low' : 'medium',
      };
  }
  return null;
}

function haproxyErrno(who: string, phase: string): string {
  if (who === 'c' || who === 's') return 'ETIMEDOUT';
  if (who === 'S' && phase === 'C') return 'ECONNREFUSED';
  return 'ECONNRESET';
}

function haproxyMeaning(who: string, phase: string): string {
  const w = {
    C: 'the client aborted',
    S: 'the server aborted or refused',
    c: 'the client timed out',
    s: 'the server timed out',
  }[who];
  const p = {
    C: 'while connecting',
    H: 'before the response headers',
    D: 'during the data phase',
    R: 'while the request arrived',
    Q: 'in the queue',
  }[phase];
  return `${w ?? who} ${p ?? phase}`;
}

// Messages are matched longest first, so "Too many open files in system" beats "Too many open files".
interface IndexedWording extends Wording {
  key: string; // the text matched (a prefix of a long message)
  unspaced: boolean;
  shown: string;
  rank: number; // position in the longest-first order
}
interface WordingIndex {
  // By the first three characters of the key: a line is looked up at each position, not scanned
  // once per wording (2000 wordings; measured 0.4 ms a line the other way).
  spaced: Map<string, IndexedWording[]>;
  unspaced: Map<string, IndexedWording[]>;
}
const messageIndex = new WeakMap<ErrnoCatalog, WordingIndex>();

function indexFor(catalog: ErrnoCatalog): WordingIndex {
  const cached = messageIndex.get(catalog);
  if (cached) return cached;
  const list: IndexedWording[] = [];
  for (const w of catalog.wordings) {
    const unspaced = isUnspacedScript(w.text);
    const t = unspaced ? w.text.replace(/\s+/g, '') : w.text;
    const key = w.prefix ? t.slice(0, unspaced ? 10 : 28).trim() : t;
    const latin = /^[\x20-\x7e]*$/.test(key);
    if (key.length < (unspaced ? 4 : latin ? 6 : 8)) continue;
    // Short translated texts ("Ошибка") are ordinary words; keep only the distinctive ones.
    if (w.locale && !unspaced && key.length < 12) continue;
    const shown = w.prefix ? `${w.display.slice(0, key.length + (w.display.length - w.text.length))}…` : w.display;
    list.push({ ...w, key, unspaced, shown, rank: 0 });
  }
  list.sort((a, b) => b.key.length - a.key.length);
  const index: WordingIndex = { spaced: new Map(), unspaced: new Map() };
  list.forEach((w, i) => {
    w.rank = i;
    const map = w.unspaced ? index.unspaced : index.spaced;
    const k = w.key.slice(0, 3);
    const bucket = map.get(k);
    if (bucket) bucket.push(w);
    else map.set(k, [w]);
  });
  messageIndex.set(catalog, index);
  return index;
}

function findWording(line: string, catalog: ErrnoCatalog, only?: ReadonlySet<string>): IndexedWording | null {
  const index = indexFor(catalog);
  const lower = normaliseText(line);
  let best: IndexedWording | null = null;
  const scan = (hay: string, map: Map<string, IndexedWording[]>, words: boolean): void => {
    for (let at = 0; at + 3 <= hay.length; at++) {
      const bucket = map.get(hay.slice(at, at + 3));
      if (!bucket) continue;
      for (const w of bucket) {
        if ((best && w.rank >= best.rank) || !hay.startsWith(w.key, at)) continue;
        if (words) {
          // Whole words only: "Is a directory" must not match inside "This a directory...".
          const before = at === 0 ? '' : hay[at - 1]!;
          const after = hay[at + w.key.length] ?? '';
          // A long wording may run into the next word ("by peershowed up" in a pasted line).
          if (/[\p{L}\p{N}]/u.test(before) || (!w.prefix && w.key.length < 20 && /[\p{L}\p{N}]/u.test(after))) continue;
        }
        best = w;
      }
    }
  };
  scan(lower, index.spaced, true);
  if (/[\u3040-\u30ff\u3400-\u9fff]/.test(lower)) scan(lower.replace(/\s+/g, ''), index.unspaced, false);
  // The longest wording wins even when it is not wanted: "Too many open files in system" is ENFILE,
  // never EMFILE's shorter message inside it.
  const found = best as IndexedWording | null;
  return found && only && !only.has(found.entry.name) ? null : found;
}

// The program that printed the line, when it says so.
export function toolOf(line: string): string | null {
  const prefix = /^(?:\S+\s+)?([\w.-]+)(?:\[\d+\])?: /.exec(line.replace(/^\s+/, ''));
  const plain = /^([\w.-]+): /.exec(line.trim());
  const first = plain?.[1] ?? null;
  if (first && FS_TOOLS.test(first)) return first;
  if (/\bjava\.(?:net|io|nio)\.|\bjavax\.|Exception\b.*\bat [\w.$]+\(/.test(line) || /\bjava\.\w+/.test(line))
    return 'java';
  if (
    /\[Errno -?\d+\]|\[WinError \d+\]|^Traceback|\b\w+Error: \[|\bOSError\b|\bConnection\w*Error\b|BrokenPipeError|\bgaierror\b|urllib3|requests\.exceptions/.test(
      line,
    )
  )
    return 'python';
  if (/\[(?:emerg|alert|crit|error|warn|notice|info)\] \d+#\d+:/.test(line) || /\bupstream: "/.test(line))
    return 'nginx';
  if (/\bupstream connect error or disconnect\/reset before headers\b/.test(line)) return 'envoy';
  if (/\bSystem\.Net\.|\bSocketException\b/.test(line)) return '.net';
  if (NODE_SYSCALL.test(line) || /\bsyscall: '/.test(line) || /^(?:Uncaught )?Error: E[A-Z]+: /.test(line.trim()))
    return 'node';
  if (GO_NET.test(line) || (GO_INNER.test(line) && /->/.test(line)) || /\bwsa(?:recv|send)\b|\bconnectex\b/.test(line))
    return 'go';
  if (STRACE.test(line) || STRACE_SOCK.test(line)) return 'strace';
  if (/\bglusterfs\b|\bfuse-bridge\.c\b|\bclient-rpc-fops/.test(line)) return 'glusterfs';
  if (/\bkernel: |^\[\s*\d+\.\d+\] /.test(line)) return 'kernel';
  if (/\bMountVolume\b|\bkubelet\b/.test(line)) return 'kubelet';
  if (/^curl: \(\d+\)/.test(line.trim())) return 'curl';
  if (
    /^(?:ssh|scp|sftp|client_loop|kex_exchange_identification|ssh_exchange_identification|packet_write_wait)\b/.test(
      line.trim(),
    )
  )
    return 'ssh';
  if (prefix?.[1] && FS_TOOLS.test(prefix[1])) return prefix[1];
  return first;
}

function syscallAndPath(line: string): { syscall: string | null; path: string | null } {
  let syscall: string | null = null;
  let path: string | null = null;
  const st = STRACE.exec(line);
  if (st) return { syscall: st[1]!, path: st[2]! };
  const nodeFs = NODE_FS_TAIL.exec(line);
  if (nodeFs) return { syscall: nodeFs[1]!, path: nodeFs[2]! };
  const op = OP_PATH.exec(line);
  if (op) {
    syscall = op[1]!;
    path = op[2]!;
  }
  syscall ??=
    NODE_SYSCALL.exec(line)?.[1] ??
    NODE_FIELD_SYSCALL.exec(line)?.[1] ??
    GO_INNER.exec(line)?.[1] ??
    GO_NET.exec(line)?.[1] ??
    C_CALL.exec(line)?.[1] ??
    STRACE_SOCK.exec(line)?.[1] ??
    BARE_OP.exec(line)?.[1] ??
    IN_CALL.exec(line)?.[1] ??
    OP_FAILED.exec(line)?.[1] ??
    null;
  if (syscall === 'dial' || syscall === 'connectex') syscall = 'connect';
  if (syscall === 'wsarecv' || syscall === 'recvAddress') syscall = 'recv';
  if (syscall === 'wsasend') syscall = 'send';
  if (syscall === 'readfrom') syscall = 'read';
  path ??= QUOTED_PATH.exec(line)?.[1] ?? PATH_COLON.exec(line)?.[1] ?? PATH_AFTER_ON.exec(line)?.[1] ?? null;
  if (
    path !== null &&
    (path === '/' || path.startsWith('//') || /^\/(?:dev\/(?:fuse|null)|proc\/|sys\/)$/.test(path))
  ) {
    path = path === '/' ? null : path;
  }
  return { syscall, path: path === null ? null : path.replace(/\/+$/, '') || '/' };
}

function peerOf(line: string): string | null {
  const arrow = ARROW_PEER.exec(line)?.[1];
  if (arrow) return arrow;
  const up = UPSTREAM.exec(line)?.[1];
  if (up) return up;
  const v4 = [...line.matchAll(IPV4_PEER)].map((m) => m[1]!);
  if (v4.length > 0) return v4[v4.length - 1]!;
  const v6 = [...line.matchAll(IPV6_PEER)].map((m) => m[1]!);
  if (v6.length > 0) return v6[v6.length - 1]!;
  const host = [...line.matchAll(HOST_PEER)].map((m) => m[1]!);
  return host.length > 0 ? host[host.length - 1]! : null;
}

// Kept for callers that list the tool phrases the log pre-filter anchors on.
export { TOOL_PHRASES };
