// The lab's child process: runs one scenario's operations on real sockets and prints its
// observations as one JSON line (so strace can trace exactly this process), or serves as the
// peer server inside the server namespace.
//   node child.js run <scenario> <topology-json|null>
//   node child.js serve <host> <port>
import fs from 'node:fs';
import net from 'node:net';
import { NodeHost } from '../../host/node-host.js';
import { findScenario } from './index.js';
import type { Topology } from './types.js';

async function run(name: string, topologyJson: string): Promise<number> {
  const scenario = findScenario(name);
  if (!scenario) {
    process.stdout.write(`${JSON.stringify({ error: `no scenario '${name}'` })}\n`);
    return 2;
  }
  const topology = JSON.parse(topologyJson) as Topology | null;
  // Markers for strace: a write to /dev/null names the operation that starts.
  const devNull = fs.openSync('/dev/null', 'w');
  const host = new NodeHost();
  try {
    const observations = await scenario.run({
      host,
      topology,
      mark: (op) => fs.writeSync(devNull, `enc-lab-op:${op}`),
    });
    process.stdout.write(`${JSON.stringify({ observations })}\n`);
    return 0;
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
    return 1;
  } finally {
    host.close();
  }
}

function serve(host: string, port: number): void {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.resume();
  });
  server.listen(port, host, () => process.stdout.write('ready\n'));
  server.on('error', (e) => {
    process.stdout.write(`error ${e.message}\n`);
    process.exit(1);
  });
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'serve' && a !== undefined && b !== undefined) {
  serve(a, Number(b));
} else if (mode === 'run' && a !== undefined) {
  // Exit once done: a scenario may leave a socket the kernel never reports on (that is the point).
  void run(a, b ?? 'null').then((code) => process.stdout.write('', () => process.exit(code)));
} else {
  process.stderr.write('usage: child.js run <scenario> [topology-json] | child.js serve <host> <port>\n');
  process.exit(2);
}
