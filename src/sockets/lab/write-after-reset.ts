import fs from 'node:fs';
import type { Observation, Scenario } from './types.js';
import { loopbackPair, observeWrite, observed, sleep, socketFd, stopReading } from './util.js';

// Writes after the peer's RST. The kernel answers the first send with ECONNRESET (it consumes
// sk_err) and every later one with EPIPE (net/core/stream.c sk_stream_error). Node destroys its
// handle after the first error, so the lab makes the later sends with write(2) on the same fd.
export const writeAfterReset: Scenario = {
  name: 'write-after-reset',
  title: 'write after the peer sent an RST: ECONNRESET first, then EPIPE',
  netns: false,
  expected: [
    {
      op: 'socket.write #1',
      event: 'error',
      code: 'ECONNRESET',
      syscall: 'write',
      why: 'the first send after an RST returns the pending ECONNRESET',
    },
    {
      op: 'socket.write #2',
      event: 'write-cb',
      code: 'ERR_STREAM_DESTROYED',
      syscall: null,
      why: 'Node destroyed the socket after the first error; the kernel is not asked again',
    },
    {
      op: 'write(2) #1 on the fd',
      event: 'error',
      code: 'ECONNRESET',
      syscall: 'write',
      why: 'a second connection: the first send after the RST, made directly',
    },
    {
      op: 'write(2) #2 on the fd',
      event: 'error',
      code: 'EPIPE',
      syscall: 'write',
      why: 'sk_err is consumed; the socket is in CLOSE with SEND_SHUTDOWN, so later sends get EPIPE',
    },
    {
      op: 'socket.write #3',
      event: 'error',
      code: 'EPIPE',
      syscall: 'write',
      why: 'what Node reports when something else already consumed the reset',
    },
  ],
  async run(lab) {
    const out: Observation[] = [];
    const a = await loopbackPair();
    try {
      await stopReading(a.client, a.peer);
      a.peer.resetAndDestroy();
      await sleep(50);
      lab.mark('socket.write #1');
      out.push(await observeWrite('socket.write #1', a.client, 'x'));
      lab.mark('socket.write #2');
      out.push(await observeWrite('socket.write #2', a.client, 'y'));
    } finally {
      await a.close();
    }
    const b = await loopbackPair();
    try {
      await stopReading(b.client, b.peer);
      b.peer.resetAndDestroy();
      await sleep(50);
      const fd = socketFd(b.client);
      for (const op of ['write(2) #1 on the fd', 'write(2) #2 on the fd']) {
        lab.mark(op);
        try {
          fs.writeSync(fd, 'x');
          out.push(observed(op, 'written'));
        } catch (e) {
          out.push(observed(op, 'error', e));
        }
      }
      lab.mark('socket.write #3');
      out.push(await observeWrite('socket.write #3', b.client, 'z'));
    } finally {
      await b.close();
    }
    return out;
  },
};
