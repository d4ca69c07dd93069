// STUB (owned by the diagnose issue): the cause of a dead or hung mount, with evidence.
import { EnotconnError } from '../errors.js';
import type { Host } from '../host/types.js';
import type { Diagnosis } from './diagnosis.js';

export interface DiagnoseOptions {
  timeoutMs?: number; // probe timeout (default 2 s)
  force?: boolean; // plan as if heal --force were given
}

// Diagnose the network or FUSE mount holding `path`; throws ENC_NOT_A_MOUNT for any other path.
export async function diagnose(_host: Host, path: string, _opts: DiagnoseOptions = {}): Promise<Diagnosis> {
  throw new EnotconnError('ENC_INTERNAL', `diagnose is not built yet (${path})`);
}
