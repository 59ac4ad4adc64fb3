#!/usr/bin/env python3
"""Disassemble the V8 code (JavaScript or wasm) around hot addresses, from a jitdump file (not a test).

`node --perf-prof` writes jit-PID.dump in the working directory: every function V8 compiles, with its address and
machine code. `perf report` on a `perf record` of that run lists hot addresses inside [JIT] code (this machine's
perf cannot merge the dump itself). Given the dump and one or more of those addresses, this prints the name of the
compiled function holding them and its disassembly from 128 bytes before the lowest to 128 bytes after the
highest, by `objdump` (binutils). Usage:

  perf record -e cpu-clock -k mono node --perf-prof --import tsx bench/gemm.mjs --threads 1 --sizes 512
  perf report --stdio --sort sym | head -30
  bench/jit-disassemble.py jit-PID.dump 0x268c50bd6320 [0x... ...]

Record format: the jitdump specification in the Linux sources (tools/perf/Documentation/jitdump-specification.txt):
a header whose third u32 is its size, then records of (u32 id, u32 total size, u64 timestamp); id 0 (code load)
continues with u32 pid, u32 tid, u64 vma, u64 code address, u64 code size, u64 index, the NUL-terminated name and
the code bytes.
"""
import struct
import subprocess
import sys
import tempfile

if len(sys.argv) < 3:
    sys.exit(__doc__)
dump_path = sys.argv[1]
addresses = [int(a, 16) for a in sys.argv[2:]]
try:
    data = open(dump_path, 'rb').read()
except OSError as error:
    sys.exit(f'jit-disassemble: cannot read {dump_path}: {error.strerror}')
if len(data) < 12 or data[:4] not in (b'JiTD', b'DTiJ'):
    sys.exit(f'jit-disassemble: {dump_path} is not a jitdump file (node --perf-prof writes jit-PID.dump)')
header_size = struct.unpack_from('<I', data, 8)[0]
offset = header_size
holders = {}
while offset + 16 <= len(data):
    record_id, record_size, _timestamp = struct.unpack_from('<IIQ', data, offset)
    if record_size == 0:
        break
    if record_id == 0:
        _pid, _tid, _vma, code_address, code_size, _index = struct.unpack_from('<IIQQQQ', data, offset + 16)
        name_start = offset + 56
        name_end = data.index(b'\0', name_start)
        if any(code_address <= a < code_address + code_size for a in addresses):
            # A later load at the same address replaces an earlier one (V8 reuses freed code space).
            holders[code_address] = (data[name_start:name_end].decode(errors='replace'), data[name_end + 1:name_end + 1 + code_size])
    offset += record_size
if not holders:
    sys.exit(f'{dump_path}: no compiled code holds {", ".join(hex(a) for a in addresses)}')
low, high = min(addresses) - 128, max(addresses) + 128
for code_address, (name, code) in sorted(holders.items()):
    print(f'== {name} at {code_address:#x}, {len(code)} bytes')
    with tempfile.NamedTemporaryFile(suffix='.bin') as f:
        f.write(code)
        f.flush()
        try:
            listing = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', f'--adjust-vma={code_address:#x}', f.name],
                                     capture_output=True, text=True, check=True).stdout
        except FileNotFoundError:
            sys.exit('jit-disassemble: objdump is missing (Debian: apt-get install binutils)')
    for line in listing.splitlines():
        head = line.split(':', 1)[0].strip()
        try:
            address = int(head, 16)
        except ValueError:
            continue
        if low <= address <= high:
            marker = '>' if address in addresses else ' '
            print(marker, line)
