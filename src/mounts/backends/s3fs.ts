import type { Backend, Endpoint } from './types.js';
import { argvOptions, daemonIs } from './types.js';

// The S3 endpoint host and port from an `url=` option; AWS's default endpoint otherwise.
export function s3EndpointFromUrl(url: string | undefined): { host: string; port: number; url: string } {
  const u = url ?? 'https://s3.amazonaws.com';
  try {
    const parsed = new URL(u);
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'http:' ? 80 : 443;
    return { host: parsed.hostname, port, url: u };
  } catch {
    return { host: 's3.amazonaws.com', port: 443, url: u };
  }
}

export const s3fs: Backend = {
  name: 's3fs',
  kind: 'fuse',
  daemonNames: ['s3fs'],
  matches: (m, ctx) =>
    m.fstype === 'fuse.s3fs' || (m.type === 'fuse' && (m.source === 's3fs' || daemonIs(ctx, ['s3fs']))),
  endpoint: (m, ctx): Endpoint => {
    // s3fs argv: s3fs bucket[:/prefix] mountpoint -o url=...; mountinfo's source is just "s3fs".
    const args = ctx.daemonArgv ?? [];
    const positional = args.slice(1).filter((a, i, all) => !a.startsWith('-') && all[i - 1] !== '-o');
    const bucket = (positional[0] ?? (m.source !== 's3fs' ? m.source : '')).split(':')[0] ?? '';
    const ep = s3EndpointFromUrl(
      argvOptions(ctx.daemonArgv)
        .find((o) => o.startsWith('url='))
        ?.slice(4),
    );
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
