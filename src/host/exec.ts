import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fixedEnv, resolveTrusted } from './programs.js';
import type { ExecOptions, ExecResult, SpawnOptions, SpawnedProcess } from './types.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024;
// After SIGKILL we wait this long for 'close'. A process in uninterruptible sleep (umount of a
// hung NFS mount) may never exit; the caller still gets its answer and the child is abandoned.
const KILL_GRACE_MS = 500;

// The program a spawn runs: an absolute path as given (code and root's config name it), a bare name
// only from the root-owned TRUSTED_DIRS (never through a PATH). Null when a bare name is not there.
export function programPath(file: string): string | null {
  return file.startsWith('/') ? file : resolveTrusted(file);
}

// The spawn options every child gets: the fixed environment (plus the caller's extras, never PATH
// or LD_*) and cwd "/". Why cwd "/": uv_spawn blocks the event loop until the child has exec'd, and
// the child chdirs before that, so a cwd on a hung mount would freeze the parent; a step that needs
// a directory runs `env -C DIR` as the owner instead.
function childEnv(env: Record<string, string> | undefined): Record<string, string> {
  return fixedEnv(env ?? {});
}

// Run argv (never a shell string) with a timeout; resolves with the outcome, never rejects.
export function execArgv(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOut = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const [name, ...args] = argv;
  if (name === undefined) {
    return Promise.resolve(result(argv, null, null, '', '', false, started, 'EINVAL'));
  }
  const file = programPath(name);
  if (file === null) {
    return Promise.resolve(result(argv, null, null, '', '', false, started, 'ENOENT'));
  }
  return new Promise((resolve) => {
    let settled = false;
    let timedOut = false;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    // outputFile: the command's output goes to a file, so a daemon it leaves behind holds no pipe of ours.
    let outFd: number | null = null;
    let outStart = 0;
    if (opts.outputFile !== undefined) {
      try {
        outFd = fs.openSync(opts.outputFile, 'a+', 0o600);
        outStart = fs.fstatSync(outFd).size;
      } catch (e) {
        resolve(result(argv, null, null, '', '', false, started, (e as NodeJS.ErrnoException).code ?? 'EIO'));
        return;
      }
    }
    const child = spawn(file, args, {
      shell: false,
      detached: true, // own process group, so a timeout kills the whole group
      stdio: outFd !== null ? [opts.input !== undefined ? 'pipe' : 'ignore', outFd, outFd] : ['pipe', 'pipe', 'pipe'],
      cwd: '/',
      env: childEnv(opts.env),
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    const finish = (code: number | null, signal: string | null, spawnError: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      if (outFd !== null) {
        err.push(readTail(outFd, outStart, maxOut));
        fs.closeSync(outFd);
      }
      resolve(
        result(
          argv,
          code,
          signal,
          Buffer.concat(out).toString('utf8'),
          Buffer.concat(err).toString('utf8'),
          timedOut,
          started,
          spawnError,
        ),
      );
    };
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
      grace = setTimeout(() => {
        child.unref();
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(null, 'SIGKILL', null);
      }, KILL_GRACE_MS);
    }, timeoutMs);
    child.stdout?.on('data', (b: Buffer) => {
      if (outLen < maxOut) out.push(b);
      outLen += b.length;
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (errLen < maxOut) err.push(b);
      errLen += b.length;
    });
    child.on('error', (e: NodeJS.ErrnoException) => finish(null, null, e.code ?? 'ESPAWN'));
    if (outFd !== null) child.on('exit', (code, signal) => finish(code, signal, null));
    else child.on('close', (code, signal) => finish(code, signal, null));
    child.stdin?.on('error', () => undefined); // a child that exits without reading stdin
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

// What a command appended to its output file, at most `max` bytes.
function readTail(fd: number, start: number, max: number): Buffer {
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(Math.max(size - start, 0), max);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf;
  } catch {
    return Buffer.alloc(0);
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function result(
  argv: readonly string[],
  code: number | null,
  signal: string | null,
  stdout: string,
  stderr: string,
  timedOut: boolean,
  started: number,
  spawnError: string | null,
): ExecResult {
  return {
    argv: [...argv],
    code,
    signal,
    stdout,
    stderr,
    timedOut,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    spawnError,
  };
}

// Start a long-running process from argv (a supervised daemon); its exit is reported at once.
export function spawnArgv(argv: readonly string[], opts: SpawnOptions = {}): SpawnedProcess {
  const [name, ...args] = argv;
  if (name === undefined) throw new TypeError('spawnArgv: empty argv');
  const file = programPath(name) ?? `/nonexistent/${name}`;
  const child = spawn(file, args, {
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: '/',
    env: childEnv(opts.env),
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on('error', () => resolve({ code: null, signal: null }));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    let buf = '';
    child[stream]?.setEncoding('utf8');
    child[stream]?.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        opts.onOutput?.(stream, buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (buf.length > 65536) buf = buf.slice(-65536);
    });
  }
  return {
    pid: child.pid ?? -1,
    exited,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => child.kill(signal),
  };
}
