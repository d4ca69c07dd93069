// A FakeHost whose state and run directories are a fresh temporary directory of its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeHost } from '../../src/host/fake-host.js';

// A FakeHost with enotconn's state in a new temp dir named after `prefix` (run dir beneath it).
export function fakeHostInTempDir(prefix: string): { host: FakeHost; stateDir: string } {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { host: new FakeHost({ stateDir, runDir: path.join(stateDir, 'run') }), stateDir };
}
