# The native backend's addon (src/backend/native/ is its TypeScript side). `npm run build:native`
# (scripts/build-native.mjs, part of `npm run build` and so of `npm ci`) runs node-gyp here; the addon lands in
# native/build/Release/convkit_native.node.
#
# Every kernel file in src/isa/ is compiled once per ISA level, into its own static library and namespace
# (CK_ISA_NS) with the level's vector width (CK_VBYTES, bytes) and compiler flags; addon.cc, pool.cc and
# dispatch.cc are compiled once with baseline flags, and dispatch.cc picks a level at run time from the CPU's
# features. On arm64 there is one level, the baseline (NEON).
# The avx512 level on a CPU without AVX-512: the tests compile its code with -mavx2 -mfma instead (native/src/simd.h
# builds its 16-float vectors' FMA from AVX2 halves, same rounding): native/test/run.sh's avx512-emulated level, and
# scripts/build-test-addon.mjs's separate addon for the conformance suite (CONVKIT_BUILD_TEST_ADDONS=1, set by
# .ci/run). This file never builds it: the users' addon is the same with or without it.
# No -ffast-math (NaN and infinity must propagate as in PyTorch), and -ffp-contract=off: the compiler never fuses
# a*b + c on its own, so the elementwise kernels give the same bits at every level (GEMM and convolution kernels
# use FMA explicitly, through intrinsics).
# The kernels use GCC / clang vector extensions (vector_size, __builtin_convertvector): GCC and clang (Linux, macOS)
# build them; on Windows build with clang-cl (the ClangCL platform toolset), not MSVC's cl. Only GCC has been tried
# here (g++ 12, Linux x86-64).
{
  'variables': {
    # src/isa/*.cc, listed when node-gyp configures (new kernel files join without editing this file).
    'isa_sources': ['<!@(node -e "const fs=require(\'fs\');console.log(fs.readdirSync(\'src/isa\').filter(f=>f.endsWith(\'.cc\')).sort().map(f=>\'src/isa/\'+f).join(\' \'))")'],
  },
  'target_defaults': {
    'include_dirs': ['src'],
    'cflags': ['-O3', '-fPIC', '-fno-math-errno', '-ffp-contract=off', '-fvisibility=hidden'],
    'cflags_cc': ['-std=c++17'],
    'cflags!': ['-O2', '-O0'],
    'cflags_cc!': ['-std=gnu++17', '-std=gnu++20', '-std=c++20'],
    'xcode_settings': {
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'GCC_OPTIMIZATION_LEVEL': '3',
      'OTHER_CFLAGS': ['-fno-math-errno', '-ffp-contract=off'],
    },
    'msvs_settings': { 'VCCLCompilerTool': { 'Optimization': 2, 'AdditionalOptions': ['/std:c++17', '/fp:precise'] } },
  },
  'targets': [
    {
      'target_name': 'ck_base',
      'type': 'static_library',
      'sources': ['<@(isa_sources)'],
      'defines': ['CK_ISA_NS=ck_base', 'CK_VBYTES=16'],
    },
    {
      'target_name': 'convkit_native',
      'sources': ['src/addon.cc', 'src/pool.cc', 'src/dispatch.cc'],
      'dependencies': ['ck_base'],
      'cflags_cc!': ['-fno-exceptions'],
      'cflags_cc': ['-fexceptions'],
      'libraries': ['-pthread'],
      'xcode_settings': { 'GCC_ENABLE_CPP_EXCEPTIONS': 'YES' },
      'msvs_settings': { 'VCCLCompilerTool': { 'ExceptionHandling': 1 } },
      'conditions': [
        ['target_arch=="x64"', {
          'dependencies': ['ck_avx2', 'ck_avx512'],
          'defines': ['CK_X86_LEVELS'],
        }],
      ],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'ck_avx2',
          'type': 'static_library',
          'sources': ['<@(isa_sources)'],
          'defines': ['CK_ISA_NS=ck_avx2', 'CK_VBYTES=32'],
          'cflags': ['-mavx2', '-mfma'],
          'xcode_settings': { 'OTHER_CFLAGS': ['-mavx2', '-mfma'] },
          'msvs_settings': { 'VCCLCompilerTool': { 'AdditionalOptions': ['/arch:AVX2'] } },
        },
        {
          'target_name': 'ck_avx512',
          'type': 'static_library',
          'sources': ['<@(isa_sources)'],
          'defines': ['CK_ISA_NS=ck_avx512', 'CK_VBYTES=64'],
          'cflags': ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma'],
          'xcode_settings': { 'OTHER_CFLAGS': ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma'] },
          'msvs_settings': { 'VCCLCompilerTool': { 'AdditionalOptions': ['/arch:AVX512'] } },
        },
      ],
    }],
  ],
}
