import net from 'node:net';
import { mustRun, inNs } from './netns.js';
import type { Scenario } from './types.js';
import { observeEvent, sleep } from './util.js';

// The server's link goes down while we connect. The router still has a route (veth carrier loss
// leaves it, marked linkdown), ARP for the server fails, and the router answers the queued SYN
// with ICMP host unreachable: connect fails with EHOSTUNREACH. Without the ICMP (a neighbour
// entry still cached) the SYN retries run out instead: ETIMEDOUT (tcp_syn_retries is 2 here).
export const linkDownConnect: Scenario = {
  name: 'link-down-connect',
  title: "the server's link goes down during a connect",
  netns: true,
  clientSysctls: { 'net.ipv4.tcp_syn_retries': '2' },
  expected: [
    {
      op: 'connect while the link goes down',
      event: 'error',
      code: ['EHOSTUNREACH', 'ETIMEDOUT'],
      syscall: 'connect',
      why: 'ICMP host unreachable from the router after ARP fails (or the SYN retries run out)',
    },
  ],
  async run(lab) {
    const t = lab.topology!;
    const router = (argv: string[]): string[] => inNs(t.routerNs, argv);
    // Hold the first SYN at the router so the link can go down while the connect is in flight.
    const hold = ['FORWARD', '-p', 'tcp', '--syn', '-d', t.serverAddr, '-j', 'DROP'];
    await mustRun(lab.host, router(['iptables', '-I', ...hold]));
    await mustRun(
      lab.host,
      router([
        'sysctl',
        '-q',
        '-w',
        `net.ipv4.neigh.${t.routerServerDev}.retrans_time_ms=300`,
        `net.ipv4.neigh.${t.routerServerDev}.mcast_solicit=2`,
      ]),
    );
    const op = 'connect while the link goes down';
    lab.mark(op);
    const socket = net.connect({ host: t.serverAddr, port: t.port });
    const ev = observeEvent(op, socket, ['connect', 'error'], 15_000, { timed: true });
    try {
      await sleep(200);
      await mustRun(lab.host, ['ip', '-n', t.serverNs, 'link', 'set', t.serverDev, 'down']);
      await mustRun(lab.host, router(['iptables', '-D', ...hold]));
      return [await ev];
    } finally {
      socket.destroy();
    }
  },
};
