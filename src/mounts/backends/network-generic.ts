import type { Backend } from './types.js';

const TYPES = new Set(['9p', 'ceph', 'glusterfs', 'davfs', 'lustre', 'gpfs', 'afs', 'ocfs2']);

// Other network filesystems: recognised and probed, without a parsed endpoint.
export const networkGeneric: Backend = {
  name: 'network',
  kind: 'network',
  daemonNames: [],
  matches: (m) => TYPES.has(m.type),
  endpoint: (m) => ({ kind: 'other', checkPorts: [], display: m.source }),
};
