import type { ProcEntry, ProcField, ProcReadOptions, ProcTable } from './proc-entry.js';

// The Host interface: the only way enotconn touches the operating system.
// NodeHost (node-host.ts) is the real one; FixtureHost reads a recorded /proc tree;
// FakeHost (fake-host.ts) is an in-memory fake that records every action, for unit tests.

export type ProbeState = 'healthy' | 'dead' | 'hung' | 'stale' | 'io-error' | 'denied' | 'unknown';

// A finding is data: the caller decides what a dead mount means.
export type ProbeResult =
  // unchanged: the engine left the answer out, as the target's unchangedBandUs allowed; latencyMs
  // is then the mean of the answers left out with it in its histogram bucket (ProbeOptions).
  | { state: 'healthy'; latencyMs: number; unchanged?: true }
  | {
      state: 'hung';
      timeoutMs: number;
      // Set when an earlier probe of this mount (maybe from another enotconn process) never returned,
      // so no new probe was started (node_exporter's stuck-mount rule).
      stuckSinceMs?: number;
      skipped?: boolean;
    }
  | {
      state: 'dead' | 'stale' | 'io-error' | 'denied' | 'unknown';
      errno: string;
      syscall: 'statfs' | 'lstat';
      latencyMs: number;
    };

// What to probe: `key` identifies the mount across processes (device + mountpoint).
export interface ProbeTarget {
  key: string;
  path: string;
  // Probe as this user (and group): a FUSE mount without allow_other answers only its owner
  // (fs/fuse/dir.c fuse_allow_current_process), so root judges it as the owner.
  uid?: number;
  gid?: number;
  // The caller knows the mount healthy with a latency in [lo, hi) µs: an engine that can may leave
  // out such an answer (the native helper's quiet probe), which then resolves `unchanged`.
  unchangedBandUs?: readonly [number, number];
}

export interface ProbeOptions {
  timeoutMs: number;
  concurrency: number;
  // The histogram buckets (upper bounds, µs, ascending) the caller observes latencies in: an
  // answer left out (unchangedBandUs) then carries the mean of the answers left out in its bucket,
  // so the histogram's counts and sum stay exact.
  latencyBucketsUs?: readonly number[];
}

export interface ExecOptions {
  timeoutMs?: number; // default 10 s; SIGKILL after the timeout
  uid?: number; // run as this user (with gid); never a shell
  gid?: number;
  // Added to the fixed environment (programs.ts FIXED_ENV); PATH and LD_* are never taken from here.
  // Every child starts in "/": a step that needs a directory runs `env -C DIR` as the owner.
  env?: Record<string, string>;
  input?: string | Buffer; // written to stdin, then closed
  maxOutputBytes?: number; // default 4 MiB per stream
  // Send stdout and stderr to this file (appended) instead of pipes, and resolve when the process
  // exits rather than when its pipes close: for commands that leave a daemon behind (a remount),
  // whose children would otherwise hold the pipes open. The result's stderr is what it appended.
  outputFile?: string;
}

export interface ExecResult {
  argv: string[];
  code: number | null; // null when killed by a signal or not started
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
  spawnError: string | null; // e.g. ENOENT when the program does not exist
}

export interface SpawnOptions {
  uid?: number;
  gid?: number;
  env?: Record<string, string>; // as ExecOptions.env: added to the fixed environment
  onOutput?: (stream: 'stdout' | 'stderr', line: string) => void;
}

// A long-running child (a supervised FUSE daemon, a lab peer). `exited` resolves once.
export interface SpawnedProcess {
  pid: number;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal?: NodeJS.Signals): boolean;
}

// A bind by file descriptors (the native helper's M request): the source and target are resolved
// without following symlinks, and each must still be the inode (st_dev, st_ino as `stat %d %i`
// prints them) that was checked before, or nothing is mounted.
export interface BindTreeRequest {
  source: string;
  target: string;
  recursive: boolean; // --rbind: the source's child mounts come along
  attrs: Array<'ro' | 'nosuid' | 'nodev' | 'noexec'>; // set on the new mount before it is attached
  sourceId: { dev: number; ino: number | null } | null;
  targetId: { dev: number; ino: number } | null;
  timeoutMs: number;
}

export type BindTreeResult = { ok: true } | { ok: false; errno: string; step: string } | { ok: false; hung: true };

export type TcpResult =
  { ok: true; latencyMs: number } | { ok: false; errno: string; latencyMs: number; timedOut: boolean };

// A re-graft (DESIGN §8): the fresh host mount's tree at `source` replaces the stale copy at
// `target` inside another mount namespace, with the copy's flags. Done by the native helper.
export interface GraftRequest {
  pid: number; // a process in the target mount namespace
  mntnsInode: number; // that namespace, as planned: a reused pid names another one
  source: string; // host path: the healed mount, or the subdirectory the copy showed (subPath)
  sourceDevice: string; // "major:minor" the source must lie on
  target: string; // path inside the namespace
  staleMountId: number | null; // the copy's mount id there; null: nothing mounted there yet
  attrs: { ro: boolean; nosuid: boolean; nodev: boolean; noexec: boolean };
  timeoutMs: number;
}

// The answer of a graft: which step failed, and how.
export type GraftResult = { ok: true } | { ok: false; errno: string; step: string } | { ok: false; hung: true };

export interface Host {
  // Where /proc, /sys and /dev/kmsg are read from: '' for the real host, a fixture dir otherwise.
  readonly root: string;
  // Directories enotconn owns: state (recipes, incidents, audit) and run (locks, in-flight probes).
  readonly stateDir: string;
  readonly runDir: string;

  proc(...parts: Array<string | number>): string;
  sys(...parts: Array<string | number>): string;

  // Reads return null when the file is missing or unreadable; they never throw for that.
  // Only for /proc, /sys, /etc and enotconn's own files: never for a path inside a suspect mount.
  readText(path: string, maxBytes?: number): Promise<string | null>;
  readDir(path: string): Promise<string[] | null>;
  readLink(path: string): Promise<string | null>;
  fileExists(path: string): Promise<boolean>;
  writeText(path: string, data: string, opts?: { atomic?: boolean; mode?: number }): Promise<void>;
  appendText(path: string, data: string): Promise<void>;
  // Create a file only if it does not exist yet (O_EXCL): false when it already exists (locks).
  createExclusive(path: string, data: string, mode?: number): Promise<boolean>;
  mkdirp(path: string, mode?: number): Promise<void>;
  // Only for enotconn's own state and run directories and their files.
  chmod(path: string, mode: number): Promise<void>;
  removeFile(path: string): Promise<void>;
  // rmdir: an empty directory of enotconn's own (a heal's staging directories). Never recursive, so
  // a directory that is still a mountpoint or holds anything stays.
  removeDir(path: string): Promise<void>;

  listPids(): Promise<number[]>;
  // Fields of one process under /proc/<pid> (argv, stat, links, fds, FUSE connections, mapped
  // paths; see proc-entry.ts), in one request where the host can. Links are readlink text: never a
  // stat through the paths they name.
  readProcess(pid: number, what: readonly ProcField[], opts?: ProcReadOptions): Promise<ProcEntry>;
  // The same fields for every process (pid ascending), in one pass where the host can.
  readProcesses(what: readonly ProcField[], opts?: ProcReadOptions): Promise<ProcTable>;
  // Kernel log records as /dev/kmsg prints them ("pri,seq,usec,flags;message"), read without blocking.
  // With `words`, a record whose first line holds none of them may be left out (the native helper
  // filters them there, and sends each kept record's first line only).
  readKmsg(maxRecords?: number, words?: readonly string[]): Promise<string[] | null>;
  // lstat(2) of "/" and of each longer prefix of the absolute path `p` down to `p` (with `follow`,
  // stat(2) of `p` alone), in the native helper on a thread it abandons at the deadline, up to the
  // first that fails. null where there is no helper (the Node engine, fixtures, the fake): callers
  // then run stat(1) with a timeout.
  statInHelper(p: string, follow: boolean, timeoutMs: number): Promise<HelperStat | null>;
  // A validation read of a healed mount in the native helper, as this process's own user, on a
  // thread abandoned at the deadline: l, the directory's entry count (as decimal text); f, the name
  // of its first regular file of at most maxBytes by name (empty: none); r, a regular file's bytes
  // (at most maxBytes, else EFBIG). Nothing is followed. null where there is no helper.
  viewInHelper(p: string, what: 'l' | 'f' | 'r', maxBytes: number, timeoutMs: number): Promise<HelperView | null>;

  // False only when this host watched its own mount table (/proc/self/mountinfo) since the last
  // call and saw no change: the native helper polls it (proc(5)). True otherwise, and always where
  // nothing watches (the Node engine, fixtures): the caller then reads the table again.
  mountTableMayHaveChanged(): boolean;

  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  spawnProcess(argv: readonly string[], opts?: SpawnOptions): SpawnedProcess;
  probe(targets: readonly ProbeTarget[], opts: ProbeOptions): Promise<ProbeResult[]>;
  // As probe(), calling `each(i, result)` as each answer arrives instead of one promise per target
  // (the watch loop's cycle); resolves once every target has had its call, rejects then with the
  // first error an `each` call threw.
  probeEach(
    targets: readonly ProbeTarget[],
    opts: ProbeOptions,
    each: (i: number, r: ProbeResult) => void,
  ): Promise<void>;
  // Start the probe child now, so its start-up overlaps the caller's own work (optional to call).
  prepareProbes(concurrency: number): void;
  // Re-graft into another mount namespace; ENOSYS where the native helper is not available.
  graft(req: GraftRequest): Promise<GraftResult>;
  tcpConnect(host: string, port: number, timeoutMs: number): Promise<TcpResult>;
  // Bind by file descriptors through the native helper; null when there is none (no C compiler,
  // the Node probe engine): the caller then runs mount --bind after its own lstat checks.
  bindTree?(req: BindTreeRequest): Promise<BindTreeResult | null>;
  signal(pid: number, signal: NodeJS.Signals | 0): boolean;

  uid(): number;
  // This process's pid as the host's /proc shows it; null when /proc is not ours (a fixture tree).
  selfPid(): number | null;
  hostname(): string;
  now(): number; // ms since the epoch
  // Seconds since boot, from /proc/uptime: turns kmsg and /proc/<pid>/stat times into wall-clock time.
  bootTimeMs(): Promise<number | null>;
  // Releases background resources (the probe child); in-flight hung probes are abandoned, never waited for.
  close(): void;
}

// What the native helper's validation read gave (Host.viewInHelper): data, or an errno name.
export type HelperView = { timedOut: true } | { timedOut: false; errno: string | null; data: Buffer };

// What stat(2) says of a path, as far as a path check needs it.
export interface StatFields {
  dev: number;
  ino: number;
  uid: number;
  mode: number; // st_mode: type and permission bits
}

// What the native helper's stat said of each path it looked at (Host.statInHelper).
export type HelperStat = { timedOut: true } | { timedOut: false; items: Array<StatFields | { errno: number }> };
