// A test hook, in the spirit of etcd's gofail: ENOTCONN_FAILPOINT=after-step:ACTION[:ORIGIN] makes
// the step executor stop this whole process (SIGSTOP) right after the first step with that action
// (and, if given, that origin: heal, watch, supervisor, recovery) has been audited and journaled.
// A crash test then kills it with SIGKILL in exactly that state, between two steps, instead of
// racing a kill against the steps. The variable is read once, when this module loads; it is
// honoured only in a process running as root and fires at most once. A value of any other shape
// is ignored. Nothing else in enotconn reads it; it changes no step, only when the process stops.
import type { Host } from './types.js';

export interface Failpoint {
  action: string;
  origin: string | null;
}

// The failpoint `spec` asks for, or null when it is empty or not of the shape after-step:ACTION[:ORIGIN].
export function parseFailpoint(spec: string | undefined): Failpoint | null {
  const m = /^after-step:([a-z-]+)(?::([a-z]+))?$/.exec(spec ?? '');
  return m ? { action: m[1]!, origin: m[2] ?? null } : null;
}

const armed = parseFailpoint(process.env.ENOTCONN_FAILPOINT);
let fired = false;

// Called by the executor once a step is audited and journaled: stops this process if the failpoint
// names that step. Returns true when it stopped (and was continued since).
export function failpointAfterStep(host: Host, action: string, origin: string): boolean {
  if (armed === null || fired || host.uid() !== 0) return false;
  if (armed.action !== action || (armed.origin !== null && armed.origin !== origin)) return false;
  const self = host.selfPid();
  if (self === null) return false;
  fired = true;
  return host.signal(self, 'SIGSTOP');
}
