// Letting go of a module once its work is done, so its code and data become garbage: the config
// parser (zod and yaml, ~750 KB of code) is needed for a moment when watch starts and never again,
// and kept it costs watch ~9 MB of memory for its whole life. Only a bundle's lazy files
// (scripts/bundle.mjs: dist/bundle/commands/lazy/NAME.cjs, loaded through require) can be let go;
// an ES module (the tsc build) stays in Node's module map, and this does nothing.
import { createRequire } from 'node:module';
import { bundleInfo } from './bundle.js';

// Globals a module leaves behind that keep its code alive (zod's shared registry and config).
const GLOBALS: Record<string, readonly string[]> = {
  'watch-config': ['__zod_globalConfig', '__zod_globalRegistry'],
};

// Forget the lazy file `name`: the next import of it loads it afresh. Returns whether it was loaded.
export function releaseLazyModule(name: string): boolean {
  const b = bundleInfo();
  if (b === null || b.sea) return false; // the single executable carries everything in one script
  const req = createRequire(b.file);
  const suffix = `/lazy/${name}.cjs`;
  let found = false;
  for (const [file, mod] of Object.entries(req.cache)) {
    if (!file.endsWith(suffix) || !mod) continue;
    found = true;
    delete req.cache[file];
    // Its parent lists it among its children: that list would keep it alive too.
    const siblings = mod.parent?.children;
    if (siblings) siblings.splice(siblings.indexOf(mod), 1);
  }
  if (found) for (const g of GLOBALS[name] ?? []) delete (globalThis as Record<string, unknown>)[g];
  return found;
}
