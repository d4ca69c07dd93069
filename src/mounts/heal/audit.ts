// The heal audit trail: ${stateDir}/heal-audit.jsonl (0600 in a 0700 directory). The step
// executor appends one `kind: "step"` line as each step ends, so a heal cut short by kill -9 still
// shows what ran; heal adds one `kind: "heal"` summary line (mount, cause, steps, result, duration).
import path from 'node:path';
import type { Host } from '../../host/types.js';
import type { GraftStep } from '../diagnosis.js';

export const AUDIT_FILE = 'heal-audit.jsonl';

export interface AuditEntry {
  kind?: 'heal';
  healId?: string; // shared with the step lines of the same heal
  at: string; // ISO
  host: string;
  mountpoint: string;
  source: string | null;
  fstype: string | null;
  state: string | null;
  cause: string | null;
  result: string;
  reason: string;
  dryRun: boolean;
  force: boolean;
  recipeOrigin: string | null;
  steps: Array<{
    action: string;
    argv?: string[];
    ok: boolean;
    skipped: boolean;
    code: number | null;
    durationMs: number;
  }>;
  validated: boolean;
  stillOnOldMount: number[];
  durationMs: number;
  pid: number;
  uid: number;
}

// One step run by heal/steps.ts, audited when it ends.
export interface StepAuditEntry {
  kind: 'step';
  healId: string;
  origin: 'heal' | 'watch' | 'supervisor' | 'recovery';
  at: string; // ISO
  mountpoint: string;
  mountId: number | null;
  index: number;
  action: string;
  argv?: string[];
  write?: { path: string; data: string };
  graft?: GraftStep; // a re-graft into another mount namespace, done by the native helper
  ok: boolean;
  skipped: boolean;
  refused?: string; // the executor would not run it (requiresForce, identity changed, symlink...)
  code: number | null;
  output: string;
  durationMs: number;
  pid: number;
  uid: number;
}

// Append one entry. An unwritable state directory is reported to the caller, never thrown.
export async function appendAudit(host: Host, entry: AuditEntry | StepAuditEntry): Promise<string | null> {
  try {
    await host.mkdirp(host.stateDir, 0o700);
    const line = JSON.stringify('kind' in entry && entry.kind === 'step' ? entry : { kind: 'heal', ...entry });
    await host.appendText(path.join(host.stateDir, AUDIT_FILE), `${line}\n`);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
