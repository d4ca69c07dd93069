import type { Backend } from './types.js';
import { daemonIs } from './types.js';

export const bindfs: Backend = {
  name: 'bindfs',
  kind: 'fuse',
  daemonNames: ['bindfs'],
  // bindfs mounts as a bare `fuse` (or fuse.bindfs with -o fsname/subtype): the daemon decides.
  matches: (m, ctx) => m.fstype === 'fuse.bindfs' || (m.type === 'fuse' && daemonIs(ctx, ['bindfs'])),
  endpoint: (m) => ({ kind: 'local', path: m.source, checkPorts: [], display: m.source }),
};
