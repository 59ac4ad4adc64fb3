/**
 * ONNX messages through protobufjs and the official schema (schema.ts): encode a ModelProto built as a plain
 * object, decode bytes into one. Browser-safe. Field names keep ONNX's own snake_case (`keepCase`).
 */
import protobuf from 'protobufjs';
import { ONNX_PROTO } from './schema.js';

/** ONNX TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
/** AttributeProto.AttributeType values. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

let root: protobuf.Root | null = null;

/** The parsed schema (parsed once). */
export function onnxRoot(): protobuf.Root {
  if (!root) root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return root;
}

export function modelType(): protobuf.Type {
  return onnxRoot().lookupType('onnx.ModelProto');
}

/** Encode a ModelProto given as a plain object (checked against the schema first). */
export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const type = modelType();
  const problem = type.verify(model);
  if (problem) throw new Error(`onnx: the exported model does not match the ONNX schema: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Decode ModelProto bytes into a plain object (int64 as numbers, bytes as Uint8Array). */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  const type = modelType();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, defaults: false, arrays: true }) as Record<string, unknown>;
}
