// Hand-assembled wasm modules for the kernels.wasm checks: a module with (or without) an i32 global export
// KERNELS_STAMP and some empty exported functions, i.e. a kernels.wasm from other sources, reduced to what the
// checks read. Encoding per the WebAssembly binary format (sections: type 1, function 3, global 6, export 7, code 10).

function unsignedLeb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function signedLeb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const name = (s: string): number[] => { const b = [...new TextEncoder().encode(s)]; return [...unsignedLeb(b.length), ...b]; };
const section = (id: number, payload: number[]): number[] => [id, ...unsignedLeb(payload.length), ...payload];

export interface TinyModuleSpec {
  /** Exported as the i32 global `stampName` when given. */
  stamp?: number;
  stampName?: string;
  /** Names of exported functions `() -> ()` that do nothing. */
  functions?: readonly string[];
}

export function tinyModule(spec: TinyModuleSpec): Uint8Array<ArrayBuffer> {
  const functions = spec.functions ?? [];
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const exports: number[][] = functions.map((f, i) => [...name(f), 0x00, ...unsignedLeb(i)]);
  if (functions.length > 0) {
    bytes.push(...section(1, [0x01, 0x60, 0x00, 0x00]));
    bytes.push(...section(3, [...unsignedLeb(functions.length), ...functions.map(() => 0x00)]));
  }
  if (spec.stamp !== undefined) {
    bytes.push(...section(6, [0x01, 0x7f, 0x00, 0x41, ...signedLeb(spec.stamp), 0x0b]));
    exports.push([...name(spec.stampName ?? 'KERNELS_STAMP'), 0x03, 0x00]);
  }
  if (exports.length > 0) bytes.push(...section(7, [...unsignedLeb(exports.length), ...exports.flat()]));
  if (functions.length > 0) bytes.push(...section(10, [...unsignedLeb(functions.length), ...functions.flatMap(() => [0x02, 0x00, 0x0b])]));
  return new Uint8Array(bytes);
}
