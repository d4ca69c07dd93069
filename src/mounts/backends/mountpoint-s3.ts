import type { Backend } from './types.js';
import { argvFlag, daemonIs } from './types.js';
import { s3EndpointFromUrl } from './s3fs.js';

export const mountpointS3: Backend = {
  name: 'mountpoint-s3',
  kind: 'fuse',
  daemonNames: ['mount-s3'],
  // mountpoint-s3 mounts as a bare `fuse` with source "mountpoint-s3".
  matches: (m, ctx) => m.type === 'fuse' && (m.source === 'mountpoint-s3' || daemonIs(ctx, ['mount-s3'])),
  endpoint: (_m, ctx) => {
    const args = ctx.daemonArgv ?? [];
    const bucket = args.slice(1).find((a) => !a.startsWith('-')) ?? '';
    const ep = s3EndpointFromUrl(argvFlag(ctx.daemonArgv, '--endpoint-url'));
    return {
      kind: 's3',
      bucket,
      host: ep.host,
      port: ep.port,
      url: ep.url,
      checkPorts: [ep.port],
      display: `s3://${bucket} via ${ep.host}:${ep.port}`,
    };
  },
};
