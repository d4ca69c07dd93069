// Benchmark for `enotconn explain --log` (issue 6): builds a 1 GB log with 0.1 % matching lines in
// os.tmpdir(), then times explain --log against `grep -cE` over the same patterns, in the same run.
// Prints throughput, peak RSS and the ratio; the log is removed afterwards.
// Usage: node dist/bench/explain-log.js [--size-mb 1024]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeHost } from '../src/host/node-host.js';
import { loadCatalog } from '../src/knowledge/explain.js';
import { buildPrefilter, prefilterEre, scanErrnos } from '../src/knowledge/prefilter.js';
import { CLI } from '../test/helpers/live.js';

const sizeArg = process.argv.indexOf('--size-mb');
const SIZE = (sizeArg > 0 ? Number(process.argv[sizeArg + 1]) : 1024) * 1024 * 1024;

const MATCHING = [
  "ls: cannot access '/mnt/remote/reports': Transport endpoint is not connected",
  'Error: read ECONNRESET',
  'read tcp 10.0.0.1:5000->10.0.0.2:80: read: connection reset by peer',
  'recv() failed (104: Connection reset by peer) while reading response header from upstream, upstream: "http://10.0.0.3:8080/"',
  "OSError: [Errno 116] Stale file handle: '/mnt/nfs/db'",
  'java.net.SocketException: Connection reset',
  'Error: connect ECONNREFUSED 127.0.0.1:5432',
  'write tcp 10.0.0.1:41234->10.0.0.9:6379: write: broken pipe',
];
const NOISE = [
  (i: number) =>
    `INFO  http GET /api/v1/items/${i} 200 ${i % 97}ms user=u${i % 1000} trace=${(i * 2654435761) % 4294967296}`,
  (i: number) => `DEBUG cache hit key=session:${i % 5000} ttl=${i % 300}s size=${i % 4096}B`,
  (i: number) => `WARN  slow query took ${i % 2000}ms: SELECT * FROM orders WHERE id = ${i}`,
  (i: number) => `INFO  worker ${i % 8} finished job ${i} in ${i % 60}s (queue depth ${i % 40})`,
  (i: number) => `ERROR payment declined for order ${i}: card expired (retry in ${i % 10} min)`,
];

async function buildLog(file: string): Promise<{ lines: number; matching: number }> {
  const out = fs.createWriteStream(file);
  let size = 0;
  let i = 0;
  let matching = 0;
  const base = Date.UTC(2026, 10, 21);
  while (size < SIZE) {
    const parts: string[] = [];
    for (let k = 0; k < 10_000 && size < SIZE; k++) {
      i++;
      const ts = new Date(base + i * 7).toISOString();
      let line: string;
      if (i % 1000 === 0) {
        matching++;
        line = `${ts} app[${i % 30000}]: ${MATCHING[(i / 1000) % MATCHING.length]!}\n`;
      } else line = `${ts} app[${i % 30000}]: ${NOISE[i % NOISE.length]!(i)}\n`;
      parts.push(line);
      size += line.length;
    }
    if (!out.write(parts.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  return { lines: i, matching };
}

interface Run {
  ms: number;
  peakRssKb: number;
  stdout: string;
}

// Run argv, sampling the child's VmHWM (peak RSS) from /proc until it exits.
function measure(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env });
    let stdout = '';
    let peak = 0;
    const sample = (): void => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        // exited
      }
    };
    const timer = setInterval(sample, 20);
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      clearInterval(timer);
      resolve({ ms: performance.now() - t0, peakRssKb: peak, stdout });
    });
  });
}

const host = new NodeHost();
const catalog = await loadCatalog(host);
host.close();
const ere = prefilterEre(buildPrefilter(catalog, scanErrnos()));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enc-bench-log-'));
const file = path.join(dir, 'big.log');
try {
  const t0 = performance.now();
  const built = await buildLog(file);
  const bytes = fs.statSync(file).size;
  console.log(
    `log: ${(bytes / 1e9).toFixed(2)} GB, ${built.lines} lines, ${built.matching} matching (${((100 * built.matching) / built.lines).toFixed(2)} %), built in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
  );
  const grepArgv = ['grep', '-cE', '--', ere, file];
  const encArgv = [process.execPath, CLI, 'explain', '--log', file, '--json'];
  const cEnv = { ...process.env, LC_ALL: 'C' };
  await measure(grepArgv, cEnv); // warm the page cache: both read the same cached file
  const greps: Run[] = [];
  const encs: Run[] = [];
  for (let r = 0; r < 3; r++) {
    greps.push(await measure(grepArgv, cEnv));
    encs.push(await measure(encArgv));
  }
  const best = (runs: Run[]): Run => runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  const g = best(greps);
  const e = best(encs);
  const summary = JSON.parse(e.stdout) as { matchedLines: number; groups: unknown[] };
  const mbps = (ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(0);
  console.log(
    `grep -cE (LC_ALL=C, same ${ere.split('|').length} patterns): ${(g.ms / 1000).toFixed(2)}s, ${mbps(g.ms)} MB/s, peak RSS ${(g.peakRssKb / 1024).toFixed(1)} MB, count ${g.stdout.trim()}`,
  );
  console.log(
    `enotconn explain --log:  ${(e.ms / 1000).toFixed(2)}s, ${mbps(e.ms)} MB/s, peak RSS ${(e.peakRssKb / 1024).toFixed(1)} MB, ${summary.matchedLines} error lines in ${summary.groups.length} groups`,
  );
  console.log(
    `ratio: ${(e.ms / g.ms).toFixed(2)}x grep's time (target <= 3x); RSS ${e.peakRssKb / 1024 < 150 ? 'under' : 'OVER'} 150 MB (best of 3 runs each, page cache warm)`,
  );
  if (summary.matchedLines !== built.matching)
    console.log(`WARNING: explain counted ${summary.matchedLines}, the log has ${built.matching}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
