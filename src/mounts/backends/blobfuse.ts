import type { Backend } from './types.js';
import { argvFlag, daemonIs } from './types.js';

export const blobfuse: Backend = {
  name: 'blobfuse2',
  kind: 'fuse',
  daemonNames: ['blobfuse2', 'blobfuse'],
  matches: (m, ctx) =>
    m.fstype === 'fuse.blobfuse2' ||
    m.fstype === 'fuse.blobfuse' ||
    (m.type === 'fuse' &&
      (m.source === 'blobfuse2' || m.source === 'blobfuse' || daemonIs(ctx, ['blobfuse2', 'blobfuse']))),
  // The storage account lives in the config file (--config-file); name it when the argv has it.
  endpoint: (_m, ctx) => {
    const container = argvFlag(ctx.daemonArgv, '--container-name');
    return {
      kind: 'azure',
      ...(container !== undefined ? { bucket: container } : {}),
      checkPorts: [],
      display: container !== undefined ? `azure container ${container}` : 'azure blob storage (see --config-file)',
    };
  },
};
