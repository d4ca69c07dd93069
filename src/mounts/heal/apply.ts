// STUB (owned by the heal issue): carry out a plan, then validate.
import { EnotconnError } from '../../errors.js';
import type { Host } from '../../host/types.js';
import type { Diagnosis, Holder, PlanStep } from '../diagnosis.js';
import type { Recipe } from './recipe.js';

export interface HealOptions {
  dryRun: boolean;
  force: boolean;
  propagate: boolean;
  timeoutMs?: number; // probe timeout for the checks before and after (default 2 s)
  recipe?: Recipe; // use this recipe instead of resolving one (watch's managed mounts)
}

export interface HealStepResult {
  step: PlanStep;
  ok: boolean;
  skipped: boolean; // the re-check before this step found it was no longer needed
  code: number | null;
  output: string; // stderr/stdout tail, for the report
  durationMs: number;
}

export interface HealReport {
  mountpoint: string;
  result: 'healed' | 'refused' | 'failed' | 'dry-run';
  reason: string; // one line: why refused/failed, or what was done
  diagnosis: Diagnosis | null;
  recipe: Recipe | null;
  steps: HealStepResult[];
  validated: boolean;
  stillOnOldMount: Holder[]; // holders whose cwd or open files are still on the dead mount
  durationMs: number;
}

// Heal the mount holding `path`: plan, apply step by step with re-checks, remount, validate.
export async function healMount(_host: Host, path: string, _opts: HealOptions): Promise<HealReport> {
  throw new EnotconnError('ENC_INTERNAL', `heal is not built yet (${path})`);
}
