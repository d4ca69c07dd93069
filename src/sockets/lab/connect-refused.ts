import net from 'node:net';
import type { Scenario } from './types.js';
import { closedPort, observeEvent } from './util.js';

// connect(2) to a port nothing listens on: the kernel answers the SYN with an RST.
export const connectRefused: Scenario = {
  name: 'connect-refused',
  title: 'connect to a port on 127.0.0.1 where nothing listens',
  netns: false,
  expected: [
    {
      op: 'connect',
      event: 'error',
      code: 'ECONNREFUSED',
      syscall: 'connect',
      why: 'the SYN is answered with an RST; libuv reads SO_ERROR after the non-blocking connect',
    },
  ],
  async run(lab) {
    const port = await closedPort();
    lab.mark('connect');
    const socket = net.connect({ port, host: '127.0.0.1' });
    const o = await observeEvent('connect', socket, ['error', 'connect'], 3000);
    socket.destroy();
    return [o];
  },
};
