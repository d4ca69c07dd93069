import fs from 'node:fs';
import net from 'node:net';
import { guardServer } from '../guard.js';
import type { Observation, Scenario } from './types.js';
import { closeServer, firstEvent, listen, observed, sleep, socketFd } from './util.js';

const GUARD_IDLE_MS = 300;
const WAIT_MS = 1000;

// A server socket that stopped reading (backpressure: its buffer is full, libuv called
// readStop) never sees the peer's RST: no 'error', no 'close', and the descriptor stays open
// (nodejs/node#31106, libuv/libuv#3449). The guard's idle timeout closes it.
export const pausedReset: Scenario = {
  name: 'paused-reset',
  title: 'a paused server socket whose peer sends an RST',
  netns: false,
  expected: [
    {
      op: 'peer RST, unguarded',
      event: 'none',
      code: null,
      syscall: null,
      why: `libuv no longer polls a paused socket, so nothing is emitted within ${WAIT_MS} ms and the fd leaks`,
    },
    {
      op: `peer RST, guarded (idle ${GUARD_IDLE_MS} ms)`,
      event: 'close',
      code: 'ETIMEOUT_IDLE',
      syscall: null,
      why: "guardServer's idle timeout destroys the socket",
    },
  ],
  async run(lab) {
    return [await once(lab, false), await once(lab, true)];
  },
};

async function once(lab: { mark(op: string): void }, guarded: boolean): Promise<Observation> {
  const op = guarded ? `peer RST, guarded (idle ${GUARD_IDLE_MS} ms)` : 'peer RST, unguarded';
  const server = net.createServer();
  const guard = guarded ? guardServer(server, { idleTimeoutMs: GUARD_IDLE_MS }) : null;
  const port = await listen(server);
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect({ port, host: '127.0.0.1' });
  client.on('error', () => undefined);
  const peer = await accepted;
  peer.on('error', () => undefined);
  peer.pause();
  try {
    await new Promise<void>((r) => client.once('connect', () => r()));
    // More than the high-water mark: Node buffers some, stops reading, the kernel holds the rest.
    client.write(Buffer.alloc(256 * 1024));
    for (let i = 0; i < 100 && peer.readableLength < peer.readableHighWaterMark; i++) await sleep(10);
    const fd = socketFd(peer);
    lab.mark(op);
    const ev = firstEvent(peer, ['close', 'error', 'end'], WAIT_MS);
    client.resetAndDestroy();
    const r = await ev;
    const open = fdIsSocket(fd);
    const detail = `fd ${fd} ${open ? 'still open' : 'closed'}`;
    if (r.event === 'error') return observed(op, 'error', r.arg, detail);
    const last = guard?.recent().at(-1);
    return { op, event: r.event, code: r.event === 'close' ? (last?.code ?? null) : null, syscall: null, detail };
  } finally {
    peer.destroy();
    client.destroy();
    guard?.unguard();
    await closeServer(server);
  }
}

function fdIsSocket(fd: number): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
  } catch {
    return false;
  }
}
