// Run any program by argv (program first), never through a shell, with a deadline.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO } from './live.js';

// The npm bin (esbuild bundle) and the tsc build's entry.
export const BUNDLE = path.join(REPO, 'dist/bundle/enotconn.cjs');
export const TSC_CLI = path.join(REPO, 'dist/src/cli/main.js');
// The single executable (npm run sea).
export const SEA = path.join(REPO, 'dist/enotconn');

// What a finished program printed and how it ended.
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// Run `argv`; stdin gets `input` (or nothing); killed after `timeoutMs`.
export function runArgv(
  argv: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: opts.env ?? { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a program that never reads stdin
    child.stdin.end(opts.input ?? '');
  });
}
