import type { Host } from '../../host/types.js';

// One thing Node reported for one operation: the event, the code and the syscall.
export interface Observation {
  op: string;
  event: string; // error, close, finish, end, connect, written, write-cb, none (nothing within the wait)
  code: string | null;
  syscall: string | null;
  detail?: string;
}

// What this kernel and Node are documented to report for an operation. A list allows either value.
export interface Expectation {
  op: string;
  event: string | readonly string[];
  code: string | null | ReadonlyArray<string | null>;
  syscall: string | null | ReadonlyArray<string | null>;
  why: string;
}

// A failing syscall seen by strace, attributed to the operation running at the time.
export interface KernelCall {
  op: string | null;
  pid: number;
  syscall: string;
  fd: number | null;
  errno: string;
  message: string;
  // True when no operation's observation carries this errno: Node never told the application.
  swallowed: boolean;
}

export interface OpResult {
  op: string;
  expected: { event: string; code: string | null; syscall: string | null };
  observed: { event: string; code: string | null; syscall: string | null; detail?: string } | null;
  ok: boolean;
  why: string;
  kernel?: KernelCall[];
}

export interface ScenarioResult {
  name: string;
  title: string;
  netns: boolean;
  ok: boolean;
  durationMs: number;
  operations: OpResult[];
  kernel?: KernelCall[];
  error?: string;
}

// The addresses and names of one client/router/server topology (netns scenarios).
export interface Topology {
  id: string;
  clientNs: string;
  routerNs: string;
  serverNs: string;
  clientDev: string; // in clientNs, towards the router
  routerClientDev: string; // in routerNs, towards the client
  routerServerDev: string; // in routerNs, towards the server
  serverDev: string; // in serverNs, towards the router
  clientAddr: string;
  routerClientAddr: string;
  routerServerAddr: string;
  serverAddr: string;
  port: number;
}

// What a scenario gets while it runs in the lab child process.
export interface LabRun {
  host: Host;
  topology: Topology | null;
  // Tell strace (when tracing) that an operation starts: its syscalls are attributed to it.
  mark(op: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  netns: boolean;
  expected: readonly Expectation[];
  // Client-namespace sysctls the scenario needs (netns only).
  clientSysctls?: Readonly<Record<string, string>>;
  run(lab: LabRun): Promise<Observation[]>;
}
