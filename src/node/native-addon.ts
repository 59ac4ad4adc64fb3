/**
 * Node glue for the native backend: finds and loads the compiled addon. Loaded by src/backend/native/index.ts through
 * a dynamic import, only in Node.
 *
 * Where the addon comes from (node-gyp-build's order): native/build/Release/convkit_native.node first, which
 * `npm run build:native` (part of `npm ci`) compiles with node-gyp, then native/prebuilds/<platform>-<arch>/*.node.
 * Publishing prebuilt binaries: on each target (linux-x64, linux-arm64, darwin-x64/arm64, win32-x64; or with
 * prebuildify-cross in CI) run `npx prebuildify --napi --strip --cwd native`, which writes
 * native/prebuilds/<platform>-<arch>/node.napi.node; ship native/prebuilds in the package ("files"). An install
 * from the registry has no local build, and its install script (`build-native.mjs --if-missing`) compiles nothing
 * when a prebuilt one loads, so users need no compiler. (Node-API is ABI-stable: one binary per platform serves
 * every Node version from 20.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processEnvironment, threadsFromEnv } from '../backend/settings.js';
import type { NativeAddon, NativePlatform } from '../backend/native/addon.js';

/** The package's native/ folder (the same relative path from src/node/ and dist/node/). */
export const NATIVE_DIR = fileURLToPath(new URL('../../native', import.meta.url));
/** Where scripts/build-native.mjs records why the last build failed (and removes it after a good build). */
export const BUILD_ERROR_FILE = 'build/build-error.txt';

const require = createRequire(import.meta.url);

function loadAddon(directory: string = NATIVE_DIR): NativeAddon {
  const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
  let file: string;
  try {
    file = nodeGypBuild.path(directory);
  } catch {
    const built = join(directory, 'build', 'Release', 'convkit_native.node');
    const prebuilds = join(directory, 'prebuilds', `${process.platform}-${process.arch}`);
    const failure = join(directory, BUILD_ERROR_FILE);
    const why = existsSync(failure) ? ` The last build failed: ${readFileSync(failure, 'utf8').trim().split('\n')[0]}.` : '';
    throw new Error(`native backend: no compiled addon: ${built} does not exist and ${prebuilds} holds no prebuilt one.${why} ` +
      'Build it with `npm run build:native` (node-gyp needs a C++ compiler, make and Python 3).');
  }
  return require(file) as NativeAddon;
}

export const nativePlatform: NativePlatform = {
  loadAddon,
  defaultThreads: () => threadsFromEnv(processEnvironment()) ?? availableParallelism(),
  threadsFromUser: () => threadsFromEnv(processEnvironment()) !== undefined,
  allocUninitialized(n: number): Float32Array {
    // Its own ArrayBuffer (not Buffer's shared pool), reclaimed by the garbage collector like any array.
    const bytes = Buffer.allocUnsafeSlow(n * 4);
    return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  },
};
