// Which probe engine runs the probes: the native helper (native/enotconn-helper.c, built at
// install time) when it was built, else the Node probe child. ENOTCONN_PROBE_ENGINE=node|native
// forces one (the tests run both).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnotconnError } from '../errors.js';
import { bundleInfo } from '../runtime/bundle.js';
import { childArgv } from '../runtime/self.js';

export type ProbeEngineName = 'native' | 'node';

const HELPER_REL = path.join('native', 'build', 'enotconn-helper');

// This module's own file: in a bundle, the bundle's entry (no URL to parse: the bundle knows it).
function ownFile(): string {
  return bundleInfo()?.file ?? fileURLToPath(import.meta.url);
}

// The built helper, looked up from this module's directory upwards (dist/src/host, or a bundle's
// directory), or null. As root, a helper that others could have replaced is not used.
export function helperPath(from = path.dirname(ownFile())): string | null {
  let dir = from;
  for (let i = 0; i < 5; i++) {
    const p = path.join(dir, HELPER_REL);
    try {
      const st = fs.statSync(p);
      if (st.isFile() && (st.mode & 0o111) !== 0) return trusted(st) ? p : null;
    } catch {
      // not here
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

// Root runs the helper only when it is owned by root or by whoever owns this package's own code,
// and no one else may write it (DESIGN §7: programs root runs are files others cannot change).
function trusted(st: fs.Stats, own = ownFile()): boolean {
  if (process.getuid?.() !== 0) return true;
  if ((st.mode & 0o022) !== 0) return false;
  return st.uid === 0 || st.uid === fs.statSync(own).uid;
}

// The helper installed beside the single executable (<prefix>/bin/enotconn and
// <prefix>/lib/enotconn/enotconn-helper, as the image and the .deb lay them out), or null.
export function seaHelperPath(execPath = process.execPath): string | null {
  const p = path.join(path.dirname(execPath), '..', 'lib', 'enotconn', 'enotconn-helper');
  try {
    const st = fs.statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0 && trusted(st, execPath) ? p : null;
  } catch {
    return null;
  }
}

// The engine to use and, for the native one, the helper's path.
export function chooseEngine(env: NodeJS.ProcessEnv = process.env): { name: ProbeEngineName; helper: string | null } {
  const want = env.ENOTCONN_PROBE_ENGINE;
  if (want !== undefined && want !== '' && want !== 'native' && want !== 'node') {
    throw new EnotconnError('ENC_USAGE', `ENOTCONN_PROBE_ENGINE must be native or node, not ${JSON.stringify(want)}`);
  }
  if (want === 'node') return { name: 'node', helper: null };
  // The single executable carries no helper: it uses one installed beside it, or itself, in the
  // probe-child role.
  const helper = bundleInfo()?.sea === true ? seaHelperPath() : helperPath();
  if (helper) return { name: 'native', helper };
  if (want === 'native') {
    throw new EnotconnError(
      'ENC_NOT_FOUND',
      `ENOTCONN_PROBE_ENGINE=native, but the helper ${HELPER_REL} was not built; run: sh scripts/build-native.sh`,
    );
  }
  return { name: 'node', helper: null };
}

// Start a probe engine process. Its own process group: a terminal ^C to enotconn does not reach it.
export function spawnEngine(
  engine: ProbeEngineName,
  helper: string | null,
  registryDir: string,
  concurrency: number,
): ChildProcess {
  const workers = String(Math.max(1, concurrency));
  if (engine === 'native' && helper) {
    return spawn(helper, ['--registry', registryDir, '--concurrency', workers], {
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
      // A fixed environment; the registry variable only lets tests and operators find it.
      env: { ENOTCONN_PROBE_REGISTRY: registryDir },
      cwd: '/',
    });
  }
  const [exe, ...args] = childArgv('probe-child', () => new URL('./probe-child.js', import.meta.url));
  return spawn(exe!, args, {
    detached: true,
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, ENOTCONN_PROBE_REGISTRY: registryDir, ENOTCONN_PROBE_WORKERS: workers },
    cwd: '/',
  });
}
