// enotconn as a library: scan, diagnose, heal and explain mounts, and classify socket errors. Each
// call uses the real host unless given one, and closes what it opened. enotconn/sockets (or the
// @enotconn/sockets package, which needs no native build) holds the socket helpers alone.
import { EnotconnError, isEnotconnError, type ErrorCode } from './errors.js';
import { NodeHost } from './host/node-host.js';
import type { Host, ProbeResult, ProbeState } from './host/types.js';
import { explain as explainInput, loadCatalog, type Explanation, type NotRecognised } from './knowledge/explain.js';
import { diagnose as diagnosePath, DEFAULT_DIAGNOSE_TIMEOUT_MS, type DiagnoseOptions } from './mounts/diagnose.js';
import type { Cause, CauseId, Diagnosis, Evidence, PlanAction, PlanStep } from './mounts/diagnosis.js';
import { healMount, type HealOptions, type HealReport, type HealStepResult } from './mounts/heal/apply.js';
import { scanMounts, type MountReport, type ScanOptions, type ScanReport } from './mounts/scan.js';
import { classifySocketError, type ClassifyContext, type SocketErrorClass } from './sockets/classify.js';

export type {
  Cause,
  CauseId,
  ClassifyContext,
  Diagnosis,
  DiagnoseOptions,
  ErrorCode,
  Evidence,
  Explanation,
  HealOptions,
  HealReport,
  HealStepResult,
  Host,
  MountReport,
  NotRecognised,
  PlanAction,
  PlanStep,
  ProbeResult,
  ProbeState,
  ScanOptions,
  ScanReport,
  SocketErrorClass,
};
export { EnotconnError, isEnotconnError };

// Which host a call runs on: the real one by default.
export interface HostOption {
  host?: Host;
}

// Run `fn` on the given host, or on a fresh NodeHost that is closed afterwards.
async function withHost<T>(given: Host | undefined, fn: (host: Host) => Promise<T>): Promise<T> {
  const host = given ?? new NodeHost();
  try {
    return await fn(host);
  } finally {
    if (given === undefined) host.close();
  }
}

// Probe every network and FUSE mount (or every mount with `all`); never hangs (timeout 2 s each).
export async function scan(opts: Partial<ScanOptions> & HostOption = {}): Promise<ScanReport> {
  const { host, ...rest } = opts;
  return withHost(host, (h) => scanMounts(h, { all: false, types: null, timeoutMs: 2000, concurrency: 8, ...rest }));
}

// Why the mount holding `path` is dead or hung: ranked causes with evidence, and the heal plan.
export async function diagnose(path: string, opts: DiagnoseOptions & HostOption = {}): Promise<Diagnosis> {
  const { host, ...rest } = opts;
  return withHost(host, (h) => diagnosePath(h, path, { timeoutMs: DEFAULT_DIAGNOSE_TIMEOUT_MS, ...rest }));
}

// Heal the mount holding `path` (unmount safely, remount as its owner, validate); `dryRun` plans only.
export async function heal(path: string, opts: Partial<HealOptions> & HostOption = {}): Promise<HealReport> {
  const { host, ...rest } = opts;
  return withHost(host, (h) => healMount(h, path, { dryRun: false, force: false, propagate: false, ...rest }));
}

// Explain an errno name, number, message or log line (offline: never look at this host's mounts).
export async function explain(
  input: string,
  opts: { offline?: boolean; diagnoseTimeoutMs?: number } & HostOption = {},
): Promise<Explanation | NotRecognised> {
  const { host, ...rest } = opts;
  return withHost(host, async (h) => explainInput(h, await loadCatalog(h), input, rest));
}

// Classify a socket error: retryable or not, which side, what it means (same as classifySocketError).
export function classify(err: unknown, context: ClassifyContext = {}): SocketErrorClass {
  return classifySocketError(err, context);
}
export { classifySocketError };
