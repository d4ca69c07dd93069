// What a bundled build of enotconn knows about itself. scripts/bundle.mjs writes a banner that sets
// globalThis.__enotconnBundle before any module runs; the tsc build (dist/src) has none.

// The banner's record: where the bundle lives and what it carries inline.
export interface BundleInfo {
  // The bundle's own file (the .cjs), or the single executable itself.
  file: string;
  // True inside a single executable application (node:sea), where no file but the binary exists.
  sea: boolean;
  // The version from package.json, fixed at build time.
  version: string;
  // The probe worker: its bundled file, or its source to run as an eval worker (a SEA has no file).
  probeWorker: { file: string } | { code: string };
}

// The running bundle's record, or null in the tsc build.
export function bundleInfo(): BundleInfo | null {
  return (globalThis as { __enotconnBundle?: BundleInfo }).__enotconnBundle ?? null;
}
