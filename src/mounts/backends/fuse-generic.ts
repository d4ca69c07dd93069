import type { Backend } from './types.js';

// Any other FUSE filesystem: the subtype (or the daemon's name) is the best label there is.
export const fuseGeneric: Backend = {
  name: 'fuse',
  kind: 'fuse',
  daemonNames: [],
  matches: (m) => m.type === 'fuse' || m.type === 'fuseblk',
  endpoint: (m) => ({ kind: 'other', checkPorts: [], display: m.source }),
};
