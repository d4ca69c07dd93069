// bench/guard.ts: requests per second of a local http server on 127.0.0.1 with and without
// guardServer (logger, registry and idle timeout on), measured with autocannon. Each server
// runs in its own child process; autocannon runs here. Rounds alternate plain and guarded, and
// the medians are compared. Prints figures; asserts nothing (benchmarks are not tests).
//   node dist/bench/guard.js [--duration 5] [--rounds 5] [--connections 50]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import { guardServer } from '../src/sockets/guard.js';

interface AutocannonResult {
  requests: { average: number };
  latency: { p99: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
}) => Promise<AutocannonResult>;

const require = createRequire(import.meta.url);

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

// Child mode: serve "ok" on a free port, guarded or not, and print the port.
function serve(mode: string): void {
  const server = http.createServer((_req, res) => res.end('ok'));
  if (mode === 'guarded') {
    guardServer(server, { logger: pino({ level: 'info' }, pino.destination('/dev/null')), registry: new Registry() });
  }
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.stdout.write(`${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  });
}

async function round(mode: 'plain' | 'guarded', duration: number, connections: number): Promise<AutocannonResult> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      child.once('exit', () => reject(new Error('server exited')));
    });
    const autocannon = require('autocannon') as Autocannon;
    return await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration });
  } finally {
    child.kill('SIGKILL');
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const duration = Number(arg('--duration', '5'));
  const rounds = Number(arg('--rounds', '5'));
  const connections = Number(arg('--connections', '50'));
  const rps: Record<'plain' | 'guarded', number[]> = { plain: [], guarded: [] };
  console.log(
    `guard bench: ${rounds} rounds x ${duration}s, ${connections} connections, ${os.cpus().length} cores, ` +
      `Linux ${os.release()}, Node ${process.version}, ${new Date().toISOString()}`,
  );
  for (let i = 0; i < rounds; i++) {
    // Alternate the order so drift on a shared machine hits both sides alike.
    const order: Array<'plain' | 'guarded'> = i % 2 === 0 ? ['plain', 'guarded'] : ['guarded', 'plain'];
    for (const mode of order) {
      const r = await round(mode, duration, connections);
      rps[mode].push(r.requests.average);
      console.log(
        `  round ${i + 1} ${mode.padEnd(7)} ${r.requests.average.toFixed(0).padStart(7)} req/s  p99 ${r.latency.p99} ms` +
          `  errors ${r.errors} non2xx ${r.non2xx}`,
      );
    }
  }
  const plain = median(rps.plain);
  const guarded = median(rps.guarded);
  const cost = ((plain - guarded) / plain) * 100;
  // Paired by round: on a shared machine the load drifts between rounds more than within one.
  const paired = rps.plain.map((p, i) => ((p - rps.guarded[i]!) / p) * 100);
  console.log(`median without guard: ${plain.toFixed(0)} req/s`);
  console.log(`median with guard:    ${guarded.toFixed(0)} req/s`);
  console.log(`cost of the guard:    ${cost.toFixed(2)} % of medians (target <= 2 %)`);
  console.log(
    `paired per round:     median ${median(paired).toFixed(2)} %, range ${Math.min(...paired).toFixed(1)} % .. ` +
      `${Math.max(...paired).toFixed(1)} % (negative: the guarded server was faster)`,
  );
}

if (process.argv.includes('--serve')) serve(arg('--serve', 'plain'));
else await main();
