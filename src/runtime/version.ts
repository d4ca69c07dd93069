// enotconn's version, read from package.json (never written twice).
import fs from 'node:fs';
import { bundleInfo } from './bundle.js';

// The version string from package.json; a bundle carries the one it was built from.
export function version(): string {
  const b = bundleInfo();
  if (b !== null) return b.version;
  // dist/src/runtime/version.js -> the package root (src/runtime/version.ts under tsx likewise).
  const file = new URL('../../../package.json', import.meta.url);
  const fallback = new URL('../../package.json', import.meta.url);
  for (const f of [file, fallback]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(f, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'enotconn' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0-unknown';
}
