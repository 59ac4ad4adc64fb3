#!/bin/sh
# Builds and runs the standalone kernel tests (native/test/kernels-test.cc) for every ISA level this CPU runs,
# with the stand-in pool native/test/test-pool.cc. Usage: sh native/test/run.sh [bench] (from the repository root).
set -e
out=${TMPDIR:-/tmp}/convkit-native-test
mkdir -p "$out"
levels="base"
grep -q ' avx2 ' /proc/cpuinfo && grep -q ' fma ' /proc/cpuinfo && levels="$levels avx2"
grep -q ' avx512f ' /proc/cpuinfo && grep -q ' avx512bw ' /proc/cpuinfo && levels="$levels avx512"
for level in ${LEVELS:-$levels}; do
  case $level in
    avx512) flags="-DCK_VBYTES=64 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma" ;;
    avx2) flags="-DCK_VBYTES=32 -mavx2 -mfma" ;;
    base) flags="-DCK_VBYTES=16" ;;
  esac
  g++ -std=c++17 -O3 -Wall -Inative/src -DCK_ISA_NS=ck_$level $flags -o "$out/kernels-test-$level" \
    native/src/isa/gemm.cc native/src/isa/conv.cc native/src/isa/locally.cc native/src/isa/peak.cc \
    $(ls native/src/isa/winograd*.cc native/src/isa/direct*.cc 2>/dev/null) \
    native/test/kernels-test.cc native/test/test-pool.cc -lpthread
  echo "== $level"
  "$out/kernels-test-$level" "$@"
done
