/**
 * Serialisation (browser-safe, bytes in / bytes out): the safetensors format and checkpoint contents.
 * Writing checkpoint folders to disk is in `convkit/node` (`saveCheckpoint`, `loadCheckpoint`).
 */
export { encodeSafetensors, decodeSafetensors, SafetensorsError } from './safetensors.js';
export type { SafetensorsDtype, SafetensorsInput, SafetensorsTensor, SafetensorsFile } from './safetensors.js';
export {
  encodeCheckpoint, decodeCheckpoint, validateMeta, splitTensors, joinTensors, CheckpointError,
  CHECKPOINT_FORMAT, CHECKPOINT_VERSION, MODEL_FILE, OPTIMIZER_FILE, META_FILE,
} from './checkpoint.js';
export type { Checkpoint, CheckpointMeta, CheckpointFiles, EpochMetrics, JsonValue, RngState } from './checkpoint.js';
export { checkpointToFiles, checkpointToTar, checkpointFromFiles, checkpointFromTar, findCheckpointFolder, sha256Hex, CHECKPOINT_FILE_NAMES } from './checkpointArchive.js';
export type { CheckpointFile } from './checkpointArchive.js';
export { encodeTar, decodeTar, TarFormatError } from './tar.js';
export type { TarEntry } from './tar.js';
export { exportOnnx, OnnxExportError, type OnnxExportOptions } from './onnx/export.js';
export { importOnnx, OnnxImportError, OnnxModule, type OnnxImportOptions, type OnnxModelInfo } from './onnx/import.js';
