import type { Host } from '../host/types.js';

// Errno names, numbers and strerror(3) texts from the running C library. libuv's messages (util.getSystemErrorMap, used by
// errnos.ts) differ from libc's for several errnos ("socket is not connected" where ls, Python and
// nginx print "Transport endpoint is not connected"), and libuv has none for ESTALE. Log lines
// carry libc's wording, so it is read from libc itself: perl's $! is strerror(errno), and perl-base
// is Essential on Debian. Its Errno module also names errnos Node's os.constants.errno lacks
// (EHOSTDOWN, 112, is one). Python's errno module is the fallback. No table is copied by hand.
const PROGRAMS: ReadonlyArray<readonly string[]> = [
  [
    'perl',
    '-MErrno',
    '-e',
    'for my $n (sort keys %!) { my $v = eval "Errno::$n()"; $! = $v; print "$n\\t$v\\t$!\\n" }',
  ],
  [
    'python3',
    '-c',
    'import errno, os\nfor n, name in sorted(errno.errorcode.items()): print(f"{name}\\t{n}\\t{os.strerror(n)}")',
  ],
];

export interface LibcErrno {
  name: string;
  number: number;
  message: string;
}

let cached: Promise<LibcErrno[]> | null = null;

// Every errno the C library names, with its strerror text; empty when neither program could run.
export function libcErrnos(host: Host): Promise<LibcErrno[]> {
  cached ??= load(host);
  return cached;
}

async function load(host: Host): Promise<LibcErrno[]> {
  for (const argv of PROGRAMS) {
    const r = await host.exec(argv, {
      timeoutMs: 5000,
      env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    if (r.code !== 0) continue;
    const list = parseLibcErrnos(r.stdout);
    if (list.length > 0) return list;
  }
  return [];
}

// Parse "NAME<TAB>N<TAB>message" lines, dropping libc's "Unknown error N" placeholders.
export function parseLibcErrnos(text: string): LibcErrno[] {
  const out: LibcErrno[] = [];
  for (const line of text.split('\n')) {
    const [name, num, message] = line.split('\t');
    if (name === undefined || num === undefined || message === undefined) continue;
    const n = Number(num);
    if (!/^E[A-Z0-9]+$/.test(name) || !Number.isInteger(n) || n <= 0) continue;
    if (message.trim() === '' || /^Unknown error\b/.test(message)) continue;
    out.push({ name, number: n, message: message.trim() });
  }
  return out;
}
