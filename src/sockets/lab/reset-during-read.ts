import type { Scenario } from './types.js';
import { loopbackPair, observeEvent } from './util.js';

// The peer resets (SO_LINGER 0 then close, Node's resetAndDestroy) while we read.
export const resetDuringRead: Scenario = {
  name: 'reset-during-read',
  title: 'the peer sends an RST (resetAndDestroy) while we are reading',
  netns: false,
  expected: [
    {
      op: 'read',
      event: 'error',
      code: 'ECONNRESET',
      syscall: 'read',
      why: 'tcp_reset() sets sk_err = ECONNRESET; the next read(2) returns it',
    },
    {
      op: 'after the error',
      event: 'close',
      code: null,
      syscall: null,
      why: 'Node destroys the socket after the error',
    },
  ],
  async run(lab) {
    const p = await loopbackPair();
    try {
      p.client.resume();
      const closed = observeEvent('after the error', p.client, ['close'], 2000);
      lab.mark('read');
      const errored = observeEvent('read', p.client, ['error', 'end', 'close'], 2000);
      p.peer.resetAndDestroy();
      return [await errored, await closed];
    } finally {
      await p.close();
    }
  },
};
