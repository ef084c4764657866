#!/usr/bin/env node
// Part of `npm run build`: compiles the AssemblyScript sources (src/**/*.as.ts; tsc leaves them out)
// to WebAssembly next to the JavaScript tsc writes: src/ecs/wasm/scanner.as.ts →
// dist/src/ecs/wasm/scanner.wasm (the fast path's byte scanner, loaded by src/ecs/wasmScanner.ts).
// Skipped when the .wasm is newer than its source.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['src/ecs/wasm/scanner.as.ts'];

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};

for (const source of sources) {
  const out = join(root, 'dist', source.replace(/\.as\.ts$/, '.wasm'));
  if (mtime(out) > mtime(join(root, source)) && mtime(out) > mtime(fileURLToPath(import.meta.url))) continue;
  mkdirSync(dirname(out), { recursive: true });
  // No runtime and no allocator (the scanner works in memory its host lays out), no exported memory
  // (it is imported), bounds assertions off (the host sizes every region), SIMD (Node has had
  // WebAssembly SIMD since 16.4), optimised for speed.
  const { error, stderr } = await asc.main(
    [
      join(root, source),
      '-O3',
      '--runtime',
      'stub',
      '--noAssert',
      '--importMemory',
      '--noExportMemory',
      '--enable',
      'simd',
      '-o',
      out,
    ],
    {},
  );
  if (error) {
    process.stderr.write(stderr.toString());
    process.stderr.write(`build-wasm: ${source}: ${error.message}\n`);
    process.exit(1);
  }
}
