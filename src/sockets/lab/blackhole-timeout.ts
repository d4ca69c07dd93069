import net from 'node:net';
import { mustRun, inNs } from './netns.js';
import type { Scenario } from './types.js';
import { observeEvent, sleep } from './util.js';

// A flow that goes into a black hole (a router silently DROPs it). With the client namespace's
// tcp_retries2 at 2 the retransmissions give up after about 3 s instead of ~15 min (tcp(7)).
// The keepalive sysctls are no help for Node: libuv sets TCP_KEEPINTVL=1 and TCP_KEEPCNT=10 on
// every socket that calls setKeepAlive (seen with strace), so an idle keepalive socket in a
// black hole fails with the same ETIMEDOUT only after its initial delay plus 10 s.
export const blackholeTimeout: Scenario = {
  name: 'blackhole-timeout',
  title: 'a router DROPs an established flow (black hole): ETIMEDOUT in seconds',
  netns: true,
  clientSysctls: { 'net.ipv4.tcp_retries2': '2' },
  expected: [
    { op: 'connect', event: 'connect', code: null, syscall: null, why: 'the flow is established through the router' },
    {
      op: 'write into the black hole',
      event: 'error',
      code: 'ETIMEDOUT',
      syscall: 'read',
      why: 'retransmissions run out (tcp_retries2); the kernel sets sk_err and the next read(2) returns it',
    },
  ],
  async run(lab) {
    const t = lab.topology!;
    const socket = net.connect({ host: t.serverAddr, port: t.port });
    lab.mark('connect');
    const connected = await observeEvent('connect', socket, ['connect', 'error'], 5000);
    try {
      socket.on('error', () => undefined);
      socket.resume();
      await sleep(50);
      for (const [src, dst] of [
        [t.clientAddr, t.serverAddr],
        [t.serverAddr, t.clientAddr],
      ] as const) {
        await mustRun(lab.host, inNs(t.routerNs, ['iptables', '-I', 'FORWARD', '-s', src, '-d', dst, '-j', 'DROP']));
      }
      const op = 'write into the black hole';
      lab.mark(op);
      const ev = observeEvent(op, socket, ['error', 'end', 'close'], 20_000, { timed: true });
      socket.write('x');
      return [connected, await ev];
    } finally {
      socket.destroy();
    }
  },
};
