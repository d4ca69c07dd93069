import net from 'node:net';
import { mustRun, inNs } from './netns.js';
import type { Scenario } from './types.js';
import { observeEvent, sleep } from './util.js';

// A middlebox that has lost the flow (a NAT whose mapping expired, a firewall restarted)
// answers the next packet of an established connection with an RST in the server's name.
export const natReset: Scenario = {
  name: 'nat-reset',
  title: 'a router starts answering an established flow with REJECT --reject-with tcp-reset',
  netns: true,
  expected: [
    { op: 'connect', event: 'connect', code: null, syscall: null, why: 'the flow is established through the router' },
    {
      op: 'write after the router starts rejecting',
      event: 'error',
      code: 'ECONNRESET',
      syscall: 'read',
      why: "the router's RST (spoofed from the server) resets our socket; the server never hears of it",
    },
  ],
  async run(lab) {
    const t = lab.topology!;
    const socket = net.connect({ host: t.serverAddr, port: t.port });
    lab.mark('connect');
    const connected = await observeEvent('connect', socket, ['connect', 'error'], 5000);
    socket.on('error', () => undefined);
    socket.resume();
    try {
      socket.write('hello');
      await sleep(100);
      await mustRun(
        lab.host,
        inNs(t.routerNs, [
          'iptables',
          '-I',
          'FORWARD',
          '-p',
          'tcp',
          '-s',
          t.clientAddr,
          '-d',
          t.serverAddr,
          '--dport',
          String(t.port),
          '-j',
          'REJECT',
          '--reject-with',
          'tcp-reset',
        ]),
      );
      const op = 'write after the router starts rejecting';
      lab.mark(op);
      const ev = observeEvent(op, socket, ['error', 'end', 'close'], 5000, { timed: true });
      socket.write('x');
      return [connected, await ev];
    } finally {
      socket.destroy();
    }
  },
};
