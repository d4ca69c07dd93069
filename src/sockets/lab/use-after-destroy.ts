import fs from 'node:fs';
import type { Scenario } from './types.js';
import { loopbackPair, observeWrite, socketFd } from './util.js';

// Use after close is a local bug, never the network. Node catches a write on a destroyed
// socket itself (ERR_STREAM_DESTROYED); a descriptor closed behind libuv's back reaches the
// kernel, which answers EBADF.
export const useAfterDestroy: Scenario = {
  name: 'use-after-destroy',
  title: 'write on a destroyed socket, and on a descriptor closed behind libuv',
  netns: false,
  expected: [
    {
      op: 'socket.write after destroy()',
      event: 'write-cb',
      code: 'ERR_STREAM_DESTROYED',
      syscall: null,
      why: 'Node refuses the write itself; no syscall is made and no error event is emitted',
    },
    {
      op: 'socket.write after close(fd)',
      event: 'error',
      code: 'EBADF',
      syscall: 'write',
      why: 'the descriptor is closed, so write(2) returns EBADF: a use-after-close bug in this process',
    },
  ],
  async run(lab) {
    const a = await loopbackPair();
    const b = await loopbackPair();
    try {
      a.client.destroy();
      lab.mark('socket.write after destroy()');
      const first = await observeWrite('socket.write after destroy()', a.client, 'x');
      // Pause first so libuv is not polling the descriptor when it disappears.
      b.client.pause();
      const fd = socketFd(b.client);
      lab.mark('socket.write after close(fd)');
      fs.closeSync(fd);
      const second = await observeWrite('socket.write after close(fd)', b.client, 'y');
      return [first, second];
    } finally {
      await a.close();
      await b.close();
    }
  },
};
