// STUB (owned by the heal issue): builds the remediation plan from a diagnosis.
import type { Host, ProbeState } from '../../host/types.js';
import type { MountInfo } from '../mountinfo/parse.js';
import type { MountReport } from '../scan.js';
import type { Cause, DaemonInfo, Holder, PlanStep } from '../diagnosis.js';
import type { Recipe } from './recipe.js';

// Everything the planner may look at.
export interface PlanInput {
  mount: MountInfo;
  report: MountReport;
  state: ProbeState;
  causes: Cause[];
  daemon: DaemonInfo | null;
  holders: Holder[];
  recipe: Recipe | null;
  fuseConnection: number | null; // minor device number = /sys/fs/fuse/connections/<N>
}

// The steps heal would run, in order, each with exact argv and a risk.
export function buildPlan(input: PlanInput, _opts: { force: boolean }): PlanStep[] {
  if (input.state === 'healthy') return [{ action: 'none', risk: 'safe', why: 'the mount is healthy' }];
  return [];
}

// The best recipe for remounting, from config, recorded store, fstab, systemd, or reconstructed.
export async function resolveRecipe(_host: Host, _mount: MountInfo, _daemon: DaemonInfo | null): Promise<Recipe | null> {
  return null;
}
