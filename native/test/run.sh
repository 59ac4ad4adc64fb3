#!/bin/sh
# Builds and runs the standalone kernel tests (native/test/kernels-test.cc) for every ISA level this CPU runs,
# with the stand-in pool native/test/test-pool.cc. Usage: sh native/test/run.sh [bench] (from the repository root).
# The kernels are compiled with the addon's floating-point flags (native/binding.gyp: -ffp-contract=off, without
# which g++ fuses a*b + c in C++ wherever the level has FMA, and the tests would not run the addon's code).
#
# LEVELS=... picks levels (base avx2 avx512 avx512-emulated arm64). By default: the x86 levels this CPU runs, then
# arm64; on a CPU with AVX2 + FMA but no AVX-512, avx512-emulated in place of avx512.
# avx512-emulated is the avx512 level's code (CK_VBYTES=64, namespace ck_avx512) compiled with -mavx2 -mfma only:
# GCC splits its 16-lane vectors into AVX2 halves and simd.h builds vsplat and fmadd from AVX2 FMA halves (one
# rounding per lane, as AVX-512's FMA), so the level's blocking, tails and lane logic run on a CPU without AVX-512
# (and simd.h aborts on an in-place vector access that is not 64-byte aligned, which AVX-512 would need). The
# conformance suite runs the same code through scripts/build-test-addon.mjs's addon.
# arm64 (the addon's one arm64 level, NEON) on an x86-64 host is cross-compiled with aarch64-linux-gnu-g++ and run
# under qemu-aarch64 (Debian: apt-get install g++-aarch64-linux-gnu qemu-user); on an arm64 host, g++ and native.
# It first compiles every addon source for arm64 (all src/isa/*.cc, addon.cc, pool.cc, dispatch.cc, the addon's
# flags) and links them into a shared object, as an arm64 `npm ci` would, then builds the harness from the same
# objects and runs it (~30 s of compiling and ~15 s under emulation on a 2-core x86). Without the cross compiler
# or qemu it prints one line and is skipped (exit 0) by default, and fails (exit 1) when LEVELS names it.
set -e
out=${TMPDIR:-/tmp}/convkit-native-test
mkdir -p "$out"
common="-std=c++17 -O3 -Wall -fno-math-errno -ffp-contract=off -Inative/src"
# The kernel files the harness tests, and the harness.
kernels=$(ls native/src/isa/gemm.cc native/src/isa/conv.cc native/src/isa/locally.cc native/src/isa/peak.cc \
  native/src/isa/winograd*.cc native/src/isa/direct*.cc)
harness="native/test/kernels-test.cc native/test/test-pool.cc"
host=$(uname -m)
if [ "$host" = aarch64 ] || [ "$host" = arm64 ]; then
  levels="arm64"
  armCxx=${CXX:-g++}
  armNm=nm
  armRun=""
else
  levels="base"
  if grep -q ' avx2 ' /proc/cpuinfo && grep -q ' fma ' /proc/cpuinfo; then
    levels="$levels avx2"
    if grep -q ' avx512f ' /proc/cpuinfo && grep -q ' avx512bw ' /proc/cpuinfo; then
      levels="$levels avx512"
    else
      levels="$levels avx512-emulated"
    fi
  fi
  levels="$levels arm64"
  armCxx=aarch64-linux-gnu-g++
  armNm=aarch64-linux-gnu-nm
  armRun="qemu-aarch64 -L /usr/aarch64-linux-gnu"
fi

# The arm64 level: all addon sources to objects, the addon linked, the harness linked from the same objects, run.
arm64() {
  for tool in $armCxx ${armRun%% *}; do
    if ! command -v "$tool" >/dev/null; then
      missing="$tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)"
      [ -z "$LEVELS" ] && echo "== arm64: skipped, $missing" && return 0
      echo "== arm64: FAILED, $missing"
      return 1
    fi
  done
  obj="$out/arm64"
  rm -rf "$obj"
  mkdir -p "$obj"
  flags="$common -Wextra -Wno-unused-parameter -fPIC -fvisibility=hidden -pthread"
  for src in native/src/isa/*.cc; do
    $armCxx $flags -DCK_ISA_NS=ck_base -DCK_VBYTES=16 -c "$src" -o "$obj/isa-$(basename "$src" .cc).o"
  done
  # Node's headers as scripts/build-native.mjs finds them: the running Node's own include/node.
  include=$(dirname "$(node -p process.execPath)")/../include/node
  if [ -f "$include/node_api.h" ]; then
    for src in addon pool dispatch; do
      $armCxx $flags -fexceptions -fno-rtti -I"$include" -DBUILDING_NODE_EXTENSION -c "native/src/$src.cc" -o "$obj/$src.o"
    done
    $armCxx -shared -pthread -o "$obj/convkit_native.node" "$obj/addon.o" "$obj/pool.o" "$obj/dispatch.o" "$obj"/isa-*.o
    # Anything left undefined must come from Node (napi_*) or the C/C++ runtime (versioned symbols).
    undefined=$($armNm -D --undefined-only "$obj/convkit_native.node" 2>/dev/null | grep -v ' w ' | grep -v '@' | grep -v ' napi_' || true)
    if [ -n "$undefined" ]; then
      echo "arm64 addon: undefined symbols:"
      echo "$undefined"
      return 1
    fi
    echo "== arm64: every addon source compiles; $obj/convkit_native.node links"
  else
    echo "== arm64: no Node headers at $include: addon.cc, pool.cc, dispatch.cc not compiled"
  fi
  $armCxx $common -pthread -DCK_ISA_NS=ck_base -DCK_VBYTES=16 -o "$out/kernels-test-arm64" $harness \
    $(for src in $kernels; do echo "$obj/isa-$(basename "$src" .cc).o"; done)
  echo "== arm64${armRun:+ (under qemu-aarch64)}"
  $armRun "$out/kernels-test-arm64" "$@"
}

for level in ${LEVELS:-$levels}; do
  case $level in
    arm64) arm64 "$@"; continue ;;
    avx512) flags="-DCK_ISA_NS=ck_avx512 -DCK_VBYTES=64 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma" ;;
    # -Wno-psabi: GCC notes that 64-byte vector arguments pass differently without AVX-512 (every caller here is
    # compiled with the same flags)
    avx512-emulated) flags="-DCK_ISA_NS=ck_avx512 -DCK_VBYTES=64 -mavx2 -mfma -Wno-psabi" ;;
    avx2) flags="-DCK_ISA_NS=ck_avx2 -DCK_VBYTES=32 -mavx2 -mfma" ;;
    base) flags="-DCK_ISA_NS=ck_base -DCK_VBYTES=16" ;;
    *) echo "unknown level '$level' (base avx2 avx512 avx512-emulated arm64)"; exit 1 ;;
  esac
  g++ $common $flags -o "$out/kernels-test-$level" $kernels $harness -lpthread
  echo "== $level"
  "$out/kernels-test-$level" "$@"
done
