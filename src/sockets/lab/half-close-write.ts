import type { Scenario } from './types.js';
import { loopbackPair, observeEvent, observeWrite, sleep } from './util.js';

// The peer half-closes (FIN), then closes fully. Our socket (allowHalfOpen) is in CLOSE_WAIT and
// may still send: the first send is accepted, the closed peer answers with an RST, and
// tcp_reset() in CLOSE_WAIT sets EPIPE, so the next send fails with EPIPE.
export const halfCloseWrite: Scenario = {
  name: 'half-close-write',
  title: 'the peer half-closes, then closes; we write after that',
  netns: false,
  expected: [
    { op: 'peer end()', event: 'end', code: null, syscall: null, why: 'the FIN arrives: read(2) returns 0' },
    {
      op: 'write #1',
      event: 'written',
      code: null,
      syscall: null,
      why: 'a half-closed (CLOSE_WAIT) socket may still send; the kernel takes the bytes',
    },
    {
      op: 'write #2',
      event: 'error',
      code: 'EPIPE',
      syscall: 'write',
      why: 'the closed peer answered write #1 with an RST; in CLOSE_WAIT tcp_reset() sets EPIPE',
    },
  ],
  async run(lab) {
    const p = await loopbackPair({ allowHalfOpen: true });
    try {
      p.client.resume();
      lab.mark('peer end()');
      const ended = observeEvent('peer end()', p.client, ['end', 'error', 'close'], 2000);
      p.peer.end();
      const first = await ended;
      p.peer.destroy();
      await sleep(50);
      lab.mark('write #1');
      const w1 = await observeWrite('write #1', p.client, 'a');
      await sleep(50);
      lab.mark('write #2');
      const w2 = await observeWrite('write #2', p.client, 'b');
      return [first, w1, w2];
    } finally {
      await p.close();
    }
  },
};
