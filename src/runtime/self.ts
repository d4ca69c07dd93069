// How enotconn starts another copy of itself in a child role (the probe child, the lab child).
// The tsc build runs each role's own script; a bundle or single executable re-runs its own file
// with a role argument, so the children come from the very file the user ran.
import { fileURLToPath } from 'node:url';
import { bundleInfo } from './bundle.js';

// The roles a child process can take.
export type ChildRole = 'probe-child' | 'lab-child';

// The first argument that selects a child role in a bundle (never shown in --help).
export const ROLE_FLAG = '--enotconn-role=';

// The argv (program first) that starts `role`; `script` locates the role's file in the tsc build.
export function childArgv(role: ChildRole, script: () => URL): string[] {
  const b = bundleInfo();
  if (b === null) return [process.execPath, fileURLToPath(script())];
  return b.sea ? [process.execPath, `${ROLE_FLAG}${role}`] : [process.execPath, b.file, `${ROLE_FLAG}${role}`];
}

// What to hand to `new Worker` for the probe worker: its file, or (bundled) its source to eval.
export function probeWorkerTarget(script: () => URL): { target: URL | string; eval: boolean } {
  const b = bundleInfo();
  if (b === null) return { target: script(), eval: false };
  return 'code' in b.probeWorker
    ? { target: b.probeWorker.code, eval: true }
    : { target: b.probeWorker.file, eval: false };
}
