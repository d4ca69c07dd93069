import type { Scenario } from './types.js';
import { loopbackPair, observeEvent, sleep, stopReading } from './util.js';

// end() after the peer's RST: Socket._final calls shutdown(2), which fails with ENOTCONN on a
// socket the kernel already moved to CLOSE (net/ipv4/af_inet.c inet_shutdown), and Node drops
// that error (nodejs/node#29912). Run with --syscalls to see it.
export const endAfterReset: Scenario = {
  name: 'end-after-reset',
  title: 'end() after the peer sent an RST: shutdown fails with ENOTCONN, Node swallows it',
  netns: false,
  expected: [
    {
      op: 'end()',
      event: 'finish',
      code: null,
      syscall: null,
      why: "shutdown(2) returns ENOTCONN but Node's Socket._final treats it as success",
    },
    { op: 'destroy()', event: 'close', code: null, syscall: null, why: 'nothing else is reported' },
  ],
  async run(lab) {
    const p = await loopbackPair();
    try {
      await stopReading(p.client, p.peer);
      p.peer.resetAndDestroy();
      await sleep(50);
      lab.mark('end()');
      const ended = observeEvent('end()', p.client, ['finish', 'error', 'close'], 1000);
      p.client.end();
      const first = await ended;
      lab.mark('destroy()');
      const closed = observeEvent('destroy()', p.client, ['close', 'error'], 1000);
      p.client.destroy();
      return [first, await closed];
    } finally {
      await p.close();
    }
  },
};
