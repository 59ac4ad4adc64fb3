/**
 * Training progress for a terminal or a log (Node): a `cli-progress` bar per epoch when the stream is a TTY
 * (images/s, running loss, learning rate, ETA), plain lines when it is not (a line every ~10% of an epoch or
 * every 15 s), and a summary line per epoch either way. JSON output (`--json`) is separate: see `jsonLine`.
 *
 * @example
 * const progress = new TrainingProgress(process.stderr);
 * await fit({ ..., onEvent: (e) => progress.handle(e) });
 */
import cliProgress from 'cli-progress';
import type { TrainEvent } from '../train/trainer.js';

export interface ProgressOptions {
  /** Force the bar (true) or plain lines (false); default: whether the stream is a TTY. */
  tty?: boolean;
  /** Print nothing but the per-epoch summaries (default false). */
  quiet?: boolean;
}

/** Seconds as `42s`, `3m05s` or `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

export class TrainingProgress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly tty: boolean;
  private lastLineAt = 0;
  private lastLineStep = 0;

  constructor(private readonly stream: NodeJS.WritableStream & { isTTY?: boolean }, private readonly options: ProgressOptions = {}) {
    this.tty = options.tty ?? stream.isTTY === true;
  }

  private write(line: string): void {
    this.stream.write(line + '\n');
  }

  /** Feed every event of `fit()` here. */
  handle(e: TrainEvent): void {
    switch (e.type) {
      case 'start':
        if (e.resumed) this.write(`resuming after epoch ${e.startEpoch} of ${e.epochs}`);
        this.write(`training on ${e.trainExamples} images, testing on ${e.testExamples}; ${e.stepsPerEpoch} steps per epoch`);
        break;
      case 'epochStart':
        this.lastLineAt = Date.now();
        this.lastLineStep = 0;
        if (this.tty && !this.options.quiet) {
          this.bar = new cliProgress.SingleBar({
            format: `epoch ${e.epoch}/${e.epochs} {bar} {percentage}% | {value}/{total} | loss {loss} | {speed} img/s | lr {lr} | ETA {eta_formatted}`,
            barCompleteChar: '\u2588',
            barIncompleteChar: '\u2591',
            barsize: 24,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 50,
            fps: 5,
            stream: this.stream,
          });
          this.bar.start(e.stepsPerEpoch, 0, { loss: '-', speed: '-', lr: '-' });
        }
        break;
      case 'batch':
        if (this.bar) {
          this.bar.update(e.step, { loss: e.runningLoss.toFixed(4), speed: e.imagesPerSecond.toFixed(0), lr: e.lr.toExponential(2) });
        } else if (!this.options.quiet) {
          const now = Date.now();
          const tenth = Math.max(1, Math.round(e.stepsPerEpoch / 10));
          if (e.step - this.lastLineStep >= tenth || now - this.lastLineAt > 15_000) {
            const eta = e.step > 0 ? (e.elapsedSeconds / e.step) * (e.stepsPerEpoch - e.step) : NaN;
            this.write(
              `epoch ${e.epoch}/${e.epochs}  step ${e.step}/${e.stepsPerEpoch}  loss ${e.runningLoss.toFixed(4)}  ` +
              `${e.imagesPerSecond.toFixed(0)} img/s  lr ${e.lr.toExponential(2)}  eta ${formatDuration(eta)}`,
            );
            this.lastLineAt = now;
            this.lastLineStep = e.step;
          }
        }
        break;
      case 'evaluating':
        if (this.bar) {
          this.bar.stop();
          this.bar = null;
        }
        break;
      case 'epochEnd': {
        const m = e.metrics;
        this.write(
          `epoch ${e.epoch}/${e.epochs}  train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)}  ` +
          (m.validationAccuracy !== undefined ? `val loss ${m.validationLoss!.toFixed(4)} acc ${pct(m.validationAccuracy)}  ` : '') +
          `test loss ${m.testLoss.toFixed(4)} acc ${pct(m.testAccuracy)}  (${formatDuration(m.seconds)}, ${m.imagesPerSecond.toFixed(0)} img/s)${e.isBest ? '  best' : ''}` +
          (e.earlyStop ? `\nstopping early: no validation improvement since epoch ${e.earlyStop.bestEpoch} (patience ${e.earlyStop.patience})` : ''),
        );
        break;
      }
      case 'checkpoint':
      case 'end':
        break;
    }
  }

  /** Stop a running bar (e.g. on an error) so the terminal is left clean. */
  stop(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
  }
}

/** One JSON line for `--json` output (NaN and infinities become null, as JSON has no such numbers). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}
