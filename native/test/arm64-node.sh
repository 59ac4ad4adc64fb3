#!/bin/sh
# Runs JavaScript test files on the arm64 addon under an emulated arm64 Node (qemu-aarch64) on an x86-64 host: by
# default the op suite's files (test/backend/op-suite.test.ts's list) with the native preload, then the native
# backend's own tests (test/backend/native-*.test.ts). Usage, from the repository root, after
# `LEVELS=arm64 sh native/test/run.sh` built the arm64 addon:
#   sh native/test/arm64-node.sh [op test files...]   (with the native preload; THREADS="1 2" by default)
# Needs an arm64 Node: Debian bookworm's, unpacked (not installed) into $ARM64_ROOT (default /tmp/arm64-node-root):
#   dpkg --add-architecture arm64 && apt-get update && cd <empty folder> &&
#   apt-get download nodejs:arm64 libnode108:arm64 libbrotli1:arm64 libc-ares2:arm64 libicu72:arm64 \
#     libnghttp2-14:arm64 libssl3:arm64 libuv1:arm64 zlib1g:arm64 node-acorn node-cjs-module-lexer node-undici &&
#   for d in *.deb; do dpkg -x $d $ARM64_ROOT; done
# (then `dpkg --remove-architecture arm64 && apt-get update` if nothing else needs it). That Node is 18, and tsx
# cannot run on it (no linux-arm64 esbuild here), so the host's esbuild transpiles src/ and test/ into a mirror
# ($out/js) whose native/ holds only the arm64 addon, as a prebuild; each file runs directly, its node:test tests in
# that process (the emulated Node cannot spawn itself: no binfmt_misc). Slow: ~5-25 s a file.
set -e
root=${ARM64_ROOT:-/tmp/arm64-node-root}
out=${TMPDIR:-/tmp}/convkit-native-test
addon=$out/arm64/convkit_native.node
[ -x "$root/usr/bin/node" ] || { echo "no arm64 Node at $root/usr/bin/node (see this script's header)"; exit 1; }
[ -f "$addon" ] || { echo "no arm64 addon at $addon: run LEVELS=arm64 sh native/test/run.sh"; exit 1; }
mkdir -p "$root/lib"
ln -sf /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 "$root/lib/ld-linux-aarch64.so.1"
libs=$root/usr/lib/aarch64-linux-gnu:$root/lib/aarch64-linux-gnu:/usr/aarch64-linux-gnu/lib

js=$out/js
rm -rf "$js"
mkdir -p "$js/native/prebuilds/linux-arm64"
cp package.json "$js/"
ln -s "$(pwd)/node_modules" "$js/node_modules"
cp "$addon" "$js/native/prebuilds/linux-arm64/node.napi.node"
tar cf - --exclude='*.ts' src test | tar xf - -C "$js"
node_modules/.bin/esbuild $(find src test -name '*.ts' ! -name '*.d.ts') --outdir="$js" --outbase=. --format=esm \
  --platform=node --target=node18 --log-level=warning

# run FILE THREADS PRELOAD...: one file under the emulated Node, one line of results (and its failures).
failed=0
run() {
  f=$1 threads=$2
  shift 2
  log=$out/arm64-node-$threads-$(basename "$f" .js).log
  start=$(date +%s)
  status=0
  (cd "$js" && CONVKIT_BACKEND=native CONVKIT_THREADS=$threads NATIVE_TEST_THREADS=$threads \
    qemu-aarch64 -L "$root" -E LD_LIBRARY_PATH="$libs" "$root/usr/bin/node" "$@" "$f") >"$log" 2>&1 || status=$?
  echo "$threads thread(s) $f: exit $status, $(grep -E '^# (pass|fail) ' "$log" | tr '\n' ' ')$(($(date +%s) - start)) s"
  [ $status -eq 0 ] || { failed=$((failed + 1)); grep -E '^not ok|error:' "$log" | head -6; }
}
if [ $# -gt 0 ]; then
  suites=$(for f in "$@"; do echo "${f%.ts}.js"; done)
  own=""
else
  suites="$(cd "$js" && ls test/ops/*.test.js test/gradcheck/*.test.js test/properties/*.test.js test/nn/*.test.js \
    test/models/*.test.js test/optim/trajectory.test.js)"
  own="$(cd "$js" && ls test/backend/native-*.test.js)"
fi
# the op suite's files on the native backend (the preload: every kernel split into tasks, poisoned allocations)
for threads in ${THREADS:-1 2}; do
  for f in $suites; do run "$f" "$threads" --import ./test/backend/support/use-native.js; done
done
# the native backend's own tests choose their threads and levels themselves
for f in $own; do run "$f" 1; done
[ $failed -eq 0 ] && echo "arm64 Node: every file passed" || { echo "arm64 Node: $failed file runs failed (logs: $out/arm64-node-*.log)"; exit 1; }
