// Preload (node --import) that makes this Node look like a host where the wasm backend cannot run, as chosen by
// CONVKIT_TEST_HOST, so tests can check the silent fallback to the reference backend:
//   no-shared-memory  WebAssembly.Memory refuses `shared: true` (a browser page that is not cross-origin
//                     isolated, in engines that then refuse shared memories altogether)
//   no-simd           compiling the kernels fails with a CompileError, as on an engine without wasm SIMD
const host = process.env.CONVKIT_TEST_HOST;
if (host === 'no-shared-memory') {
  const NativeMemory = WebAssembly.Memory;
  WebAssembly.Memory = function Memory(descriptor) {
    if (descriptor && descriptor.shared) throw new TypeError('WebAssembly.Memory(): shared memory is not available on this host (simulated)');
    return new NativeMemory(descriptor);
  };
} else if (host === 'no-simd') {
  const refuse = () => new WebAssembly.CompileError('WebAssembly.compile(): invalid value type 0x7b (SIMD is not available on this host, simulated)');
  WebAssembly.compile = async () => { throw refuse(); };
  WebAssembly.Module = function Module() { throw refuse(); };
} else {
  throw new Error(`simulate-host.mjs: set CONVKIT_TEST_HOST to no-shared-memory or no-simd (got ${host})`);
}
