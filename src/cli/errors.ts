/**
 * Errors the CLI reports as one line (`convkit: <message>`) with an exit code, never a stack trace.
 * A `UsageError` is the user's to fix (bad flag, bad value, missing file): exit code 2.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/**
 * Errors thrown by the library that describe a problem with the user's input (a file, a value), by class name
 * (names, not imports, so this module stays light). They are printed as one line with exit code 2.
 */
const USER_ERROR_NAMES = new Set([
  'UsageError', 'CheckpointError', 'SafetensorsError', 'DatasetNotFoundError', 'IdxFormatError', 'ImageFileError',
  'DownloadError', 'ModelConfigError', 'UnknownModelError', 'BackendConfigError',
]);

/** Errors that end a run for a reason the message explains (exit code 1, no stack trace). */
const RUN_ERROR_NAMES = new Set(['NonFiniteLossError', 'NonFiniteGradientError', 'NonFiniteEvaluationError', 'NonFiniteCheckpointError', 'TrainingAbortedError']);

/** How to report an error: its one-line message and exit code, or null for an internal error. */
export function classifyError(e: unknown): { message: string; exitCode: number } | null {
  if (!(e instanceof Error)) return null;
  if (e instanceof UsageError) return { message: e.message, exitCode: e.exitCode };
  if (USER_ERROR_NAMES.has(e.name)) return { message: e.message, exitCode: 2 };
  if (RUN_ERROR_NAMES.has(e.name)) return { message: e.message, exitCode: 1 };
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'ENOSPC') {
    return { message: e.message, exitCode: 2 };
  }
  return null;
}
