// The heal audit trail (heal issue, "An audit trail"): one JSON line per heal, appended to
// ${stateDir}/heal-audit.jsonl: mount, cause, steps, results, duration.
import path from 'node:path';
import type { Host } from '../../host/types.js';

export const AUDIT_FILE = 'heal-audit.jsonl';

export interface AuditEntry {
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

// Append one entry. An unwritable state directory is reported to the caller, never thrown.
export async function appendAudit(host: Host, entry: AuditEntry): Promise<string | null> {
  try {
    await host.mkdirp(host.stateDir, 0o700);
    await host.appendText(path.join(host.stateDir, AUDIT_FILE), `${JSON.stringify(entry)}\n`);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
