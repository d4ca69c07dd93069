import type { Backend } from './types.js';
import { daemonIs } from './types.js';

export const rclone: Backend = {
  name: 'rclone',
  kind: 'fuse',
  daemonNames: ['rclone'],
  matches: (m, ctx) => m.fstype === 'fuse.rclone' || (m.type === 'fuse' && daemonIs(ctx, ['rclone'])),
  // rclone sources are `remote:path`; a bare local path is a local directory served through FUSE.
  endpoint: (m) => {
    const r = /^([A-Za-z0-9_.\- ]+):(.*)$/.exec(m.source);
    if (!r) return { kind: 'local', path: m.source, checkPorts: [], display: m.source };
    return { kind: 'rclone', host: r[1]!, path: r[2] ?? '', checkPorts: [], display: `${r[1]}:` };
  },
};
