import type { Backend } from './types.js';
import { daemonIs } from './types.js';

export const gcsfuse: Backend = {
  name: 'gcsfuse',
  kind: 'fuse',
  daemonNames: ['gcsfuse'],
  matches: (m, ctx) => m.fstype === 'fuse.gcsfuse' || (m.type === 'fuse' && daemonIs(ctx, ['gcsfuse'])),
  // gcsfuse shows the bucket as the mount source; the API endpoint is Google's storage host.
  endpoint: (m) => ({
    kind: 'gcs',
    bucket: m.source,
    host: 'storage.googleapis.com',
    port: 443,
    checkPorts: [443],
    display: `gs://${m.source}`,
  }),
};
