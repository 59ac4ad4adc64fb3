/**
 * The Train tab: pick data and a model, train it in the engine worker (train/handlers.ts) and watch the loss and
 * accuracy curves, the confusion matrix, per-class accuracy and predictions on test images.
 *
 * DOM contract (tests and scripts): #train-model, #train-optimizer, #train-lr, #train-batch, #train-epochs,
 * #train-seed, #train-threads, #train-start, #train-stop; body[data-train-state] = idle | training | done |
 * stopped | error; #panel-train[data-images-per-second], #panel-train[data-test-accuracy] (0..1), updated live;
 * #train-predictions figure[data-true][data-predicted].
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useApp } from '../app.js';
import type { ModelInfo } from '../engine/protocol.js';
import type { EpochMetrics } from '../../../src/io/checkpoint.js';
import { Chart, type ChartSeries } from './Chart.js';
import { ConfusionTable, PerClassAccuracy, PredictionGrid, type PredictionCell } from './Results.js';
import { AUGMENTATIONS, checkForm, DEFAULT_FORM, DEFAULT_LR, OPTIMIZERS, SCHEDULES, TRAIN_MODELS, type FieldName, type FormValues } from './settings.js';
import type { ClassNamesChoice, DataSource, DataSummary, DatasetFileUrls, TrainEvents } from './protocol.js';
import './train.css';

type TrainState = 'idle' | 'training' | 'done' | 'stopped' | 'error';

const MODEL_LABELS: Record<(typeof TRAIN_MODELS)[number], string> = {
  mlp: 'mlp: multilayer perceptron (no convolutions)',
  lenet5: 'lenet5: LeNet-5, two conv layers',
  cnn2_bn: 'cnn2_bn: two 3x3 conv layers with batch norm (fast)',
  vggsmall: 'vggsmall: small VGG, 3x3 conv blocks',
  vggsmall_bn: 'vggsmall_bn: small VGG with batch norm',
  resnet20: 'resnet20: ResNet-20, residual blocks',
  lcnet: 'lcnet: vggsmall without weight sharing (19M weights, slow)',
};
const SCHEDULE_LABELS: Record<(typeof SCHEDULES)[number], string> = {
  none: 'none (constant)', step: 'step (/10 at 1/2 and 3/4)', cosine: 'cosine', onecycle: 'one-cycle',
};
const AUGMENT_LABELS: Record<(typeof AUGMENTATIONS)[number], string> = {
  none: 'none', crop: 'random crop (pad 2)', 'crop-flip': 'random crop + horizontal flip',
};

/** A dataset the server lists in ./datasets/index.json. */
interface ServerDataset { name: ClassNamesChoice; files: DatasetFileUrls }

interface RunView {
  runId: number;
  model: string;
  parameters: number;
  epochs: number;
  stepsPerEpoch: number;
  testCount: number;
  classNames: string[];
  normalization: { mean: number[]; std: number[] };
  backend: string;
  progress: TrainEvents['train.progress'] | null;
  history: EpochMetrics[];
  lastEpoch: { epoch: number; confusion: number[][]; perClassAccuracy: number[]; testCount: number } | null;
  cells: PredictionCell[];
}

const pct = (x: number | null | undefined): string => (x == null || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`);

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

function panel(): HTMLElement | null {
  return document.getElementById('panel-train');
}

/** The server's optional list of full datasets; a 404 (or no such file) means none. */
async function fetchServerDatasets(): Promise<ServerDataset[]> {
  const url = new URL('./datasets/index.json', location.href);
  const response = await fetch(url);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
  const body = (await response.json()) as { datasets?: { name?: string; files?: Partial<DatasetFileUrls> }[] };
  const out: ServerDataset[] = [];
  for (const d of body.datasets ?? []) {
    if ((d.name !== 'fashion-mnist' && d.name !== 'mnist') || !d.files) continue;
    const f = d.files;
    if (!f.trainImages || !f.trainLabels || !f.testImages || !f.testLabels) continue;
    // The listed URLs may be relative to the index file.
    const abs = (u: string): string => new URL(u, url).href;
    out.push({ name: d.name, files: { trainImages: abs(f.trainImages), trainLabels: abs(f.trainLabels), testImages: abs(f.testImages), testLabels: abs(f.testLabels) } });
  }
  return out;
}

function FieldMessage({ id, error, note }: { id: string; error?: string; note?: string }) {
  if (error) return <span id={id} class="field-error" role="alert">{error}</span>;
  if (note) return <span id={id} class="field-note" role="alert">{note}</span>;
  return null;
}

export function TrainView(_props: { active?: boolean }) {
  const app = useApp();
  const { client } = app;
  const cores = navigator.hardwareConcurrency || 1;
  const isolated = globalThis.crossOriginIsolated === true;

  const [form, setForm] = useState<FormValues>(() => ({ ...DEFAULT_FORM, threads: String(isolated ? Math.min(cores, 4) : 1) }));
  const [trainState, setTrainStateValue] = useState<TrainState>('idle');
  const [message, setMessage] = useState<string>('');
  const [run, setRun] = useState<RunView | null>(null);
  const [dataSummary, setDataSummary] = useState<DataSummary | null>(null);
  const [dataStatus, setDataStatus] = useState('loading the Fashion-MNIST subset...');
  const [dataBusy, setDataBusy] = useState(true);
  const [serverDatasets, setServerDatasets] = useState<ServerDataset[]>([]);
  const [dataChoice, setDataChoice] = useState<string>('subset');
  const [fileClasses, setFileClasses] = useState<ClassNamesChoice>('fashion-mnist');
  const [droppedFiles, setDroppedFiles] = useState<File[]>([]);
  const [dragOver, setDragOver] = useState(false);
  /** Every step's loss so far (x in epochs); kept outside state, copied into the chart's data on each event. */
  const losses = useRef<{ x: number[]; loss: number[] }>({ x: [], loss: [] });
  const modelRef = useRef<ModelInfo | null>(app.model);
  modelRef.current = app.model;
  const runRef = useRef<RunView | null>(null);
  runRef.current = run;
  // Shared memory lets Stop reach the worker while it is inside a long training step (see handlers.ts).
  const stopFlag = useMemo(() => (isolated ? new Int32Array(new SharedArrayBuffer(4)) : null), [isolated]);
  /** Stop was clicked during this start (possibly before the worker got the run: while the engine re-initialises). */
  const stopRequested = useRef(false);

  /** The body attribute is written at once (not after the next render) so tests time the real moment. */
  const setTrainState = useCallback((s: TrainState) => {
    document.body.dataset.trainState = s;
    setTrainStateValue(s);
  }, []);
  useEffect(() => { document.body.dataset.trainState = 'idle'; }, []);

  const checked = useMemo(() => checkForm(form, { cores, isolated, trainCount: dataSummary?.trainCount ?? null }), [form, cores, isolated, dataSummary]);
  const set = <K extends keyof FormValues>(key: K) => (e: Event) => {
    const value = (e.currentTarget as HTMLInputElement | HTMLSelectElement).value as FormValues[K];
    setForm((f) => {
      const next = { ...f, [key]: value };
      // A learning rate that suits Adam diverges or crawls with SGD: propose the usual one for the new optimizer.
      if (key === 'optimizer' && f.lr === DEFAULT_LR[f.optimizer]) next.lr = DEFAULT_LR[value as FormValues['optimizer']];
      return next;
    });
  };

  const publishModel = useCallback((r: RunView, epochs: number, testAccuracy: number | null, origin: string) => {
    const info: ModelInfo = {
      name: r.model, classNames: r.classNames, inputShape: [1, 28, 28], normalization: r.normalization, origin,
      parameters: r.parameters, epochs, testAccuracy, version: (modelRef.current?.version ?? 0) + 1,
    };
    modelRef.current = info;
    app.setModel(info);
  }, [app]);

  // ---- data --------------------------------------------------------------------------------------------------
  const load = useCallback(async (source: DataSource, what: string) => {
    setDataBusy(true);
    setDataStatus(`loading ${what}...`);
    try {
      const transfer = source.kind === 'files' ? source.files.map((f) => f.bytes) : [];
      const summary = await client.call('train.loadData', source, transfer);
      setDataSummary(summary);
      setDataStatus(`${summary.description}, ${summary.classNames.length} classes`);
    } catch (e) {
      setDataStatus(`could not load ${what}: ${(e as Error).message}`);
    } finally {
      setDataBusy(false);
    }
  }, [client]);

  useEffect(() => {
    void load({ kind: 'subset', baseUrl: location.href }, 'the Fashion-MNIST subset');
    fetchServerDatasets().then(setServerDatasets, (e: Error) => setDataStatus((s) => `${s} (the server's dataset list failed: ${e.message})`));
  }, [load]);

  const loadFiles = useCallback(async (files: File[], classes: ClassNamesChoice) => {
    if (files.length === 0) return;
    setDroppedFiles(files);
    setDataChoice('files');
    const read = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
    await load({ kind: 'files', files: read, classes }, `${files.length} file${files.length === 1 ? '' : 's'}`);
  }, [load]);

  const chooseData = (value: string) => {
    setDataChoice(value);
    if (value === 'subset') void load({ kind: 'subset', baseUrl: location.href }, 'the Fashion-MNIST subset');
    else if (value === 'files') void loadFiles(droppedFiles, fileClasses);
    else {
      const d = serverDatasets.find((s) => `server:${s.name}` === value);
      if (d) void load({ kind: 'server', name: d.name, files: d.files }, `full ${d.name === 'mnist' ? 'MNIST' : 'Fashion-MNIST'} (about 30 MB)`);
    }
  };

  // ---- engine events -------------------------------------------------------------------------------------------
  useEffect(() => {
    const offs = [
      client.on('train.started', (e) => {
        losses.current = { x: [], loss: [] };
        const pixelsPer = 28 * 28;
        const view: RunView = {
          runId: e.runId, model: e.model, parameters: e.parameters, epochs: e.epochs, stepsPerEpoch: e.stepsPerEpoch,
          testCount: e.testCount, classNames: e.classNames, normalization: e.normalization, backend: e.backend,
          progress: null, history: [], lastEpoch: null,
          cells: e.predictionImages.indices.map((index, i) => ({
            index, label: e.predictionImages.labels[i]!, predicted: null, confidence: null,
            pixels: e.predictionImages.pixels.slice(i * pixelsPer, (i + 1) * pixelsPer),
          })),
        };
        const p = panel();
        if (p) { p.dataset.imagesPerSecond = '0'; delete p.dataset.testAccuracy; }
        setRun(view);
        publishModel(view, 0, null, 'trained in the page (training)');
      }),
      client.on('train.progress', (e) => {
        losses.current.x.push(...e.losses.x);
        losses.current.loss.push(...e.losses.loss);
        const p = panel();
        if (p) p.dataset.imagesPerSecond = e.imagesPerSecond.toFixed(1);
        setRun((r) => (r && r.runId === e.runId ? { ...r, progress: e } : r));
      }),
      client.on('train.epoch', (e) => {
        const p = panel();
        if (p) p.dataset.testAccuracy = String(e.metrics.testAccuracy);
        setRun((r) => {
          if (!r || r.runId !== e.runId) return r;
          const next: RunView = {
            ...r,
            history: [...r.history, e.metrics],
            lastEpoch: { epoch: e.metrics.epoch, confusion: e.confusion, perClassAccuracy: e.perClassAccuracy, testCount: e.testCount },
            cells: r.cells.map((c, i) => ({ ...c, predicted: e.predicted[i] ?? null, confidence: e.confidence[i] ?? null })),
          };
          publishModel(next, e.metrics.epoch, e.metrics.testAccuracy, `trained in the page (epoch ${e.metrics.epoch} of ${r.epochs})`);
          return next;
        });
      }),
    ];
    return () => { for (const off of offs) off(); };
  }, [client, publishModel]);

  // ---- start / stop --------------------------------------------------------------------------------------------
  const start = async () => {
    const settings = checked.settings;
    if (!settings || trainState === 'training' || !dataSummary) return;
    if (stopFlag) Atomics.store(stopFlag, 0, 0);
    stopRequested.current = false;
    setTrainState('training');
    setMessage('');
    app.setTraining(true);
    // The previous run's results describe another model: clear them now rather than show them as if current.
    setRun(null);
    losses.current = { x: [], loss: [] };
    const p = panel();
    if (p) { delete p.dataset.testAccuracy; p.dataset.imagesPerSecond = '0'; }
    try {
      // Re-initialising an engine that already runs as asked would only re-render the whole app.
      const current = app.engine;
      const info = current && current.backendName === form.backend && (form.backend === 'reference' || current.threads === checked.threads)
        ? current : await app.initEngine(form.backend, checked.threads);
      app.setStatus(`training ${settings.model} on ${info.backend}...`);
      // Without shared memory a Stop sent before the run exists would be missed: do not start it at all.
      const outcome = stopRequested.current && !stopFlag
        ? { status: 'stopped' as const, epochsCompleted: 0, testAccuracy: null }
        : await client.call('train.start', { settings, stopFlag });
      setTrainState(outcome.status);
      const r = runRef.current;
      if (r) {
        publishModel(r, outcome.epochsCompleted, outcome.testAccuracy,
          outcome.status === 'done' ? `trained in the page (${outcome.epochsCompleted} epochs)` : `trained in the page (stopped after ${outcome.epochsCompleted} full epochs)`);
      }
      const summary = `${outcome.status === 'done' ? 'done' : 'stopped'}: ${settings.model}, ${outcome.epochsCompleted} epoch${outcome.epochsCompleted === 1 ? '' : 's'}` +
        (outcome.testAccuracy !== null ? `, test accuracy ${pct(outcome.testAccuracy)}` : '');
      setMessage(summary);
      app.setStatus(summary);
    } catch (e) {
      setTrainState('error');
      setMessage(`training failed: ${(e as Error).message}`);
      app.setStatus(`training failed: ${(e as Error).message}`);
    } finally {
      app.setTraining(false);
    }
  };

  const stop = () => {
    // The flag reaches the worker at once (it checks it between layers); the message also covers pages without
    // shared memory, where the worker reads it between steps.
    stopRequested.current = true;
    if (stopFlag) Atomics.store(stopFlag, 0, 1);
    void client.call('train.stop', {});
  };

  const { setInput, showTab } = app;
  const pickImage = useCallback((c: PredictionCell) => {
    setInput({ pixels: c.pixels.slice(), shape: [1, 28, 28], source: `test image ${c.index}`, label: c.label });
    showTab('input');
  }, [setInput, showTab]);

  // ---- chart data ----------------------------------------------------------------------------------------------
  const progressKey = run?.progress?.globalStep ?? 0;
  const lossData = useMemo(() => {
    const x = [...losses.current.x];
    const trainLoss: (number | null)[] = [...losses.current.loss];
    const epochTrain: (number | null)[] = new Array<number | null>(x.length).fill(null);
    const epochTest: (number | null)[] = new Array<number | null>(x.length).fill(null);
    for (const m of run?.history ?? []) {
      let i = x.indexOf(m.epoch);
      if (i < 0) { x.push(m.epoch); trainLoss.push(null); epochTrain.push(null); epochTest.push(null); i = x.length - 1; }
      epochTrain[i] = m.trainLoss;
      epochTest[i] = m.testLoss;
    }
    return [x, trainLoss, epochTrain, epochTest];
    // losses.current grows in place; progressKey and history say when it did.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [progressKey, run?.history, run?.runId]);
  const accuracyData = useMemo(() => {
    const h = run?.history ?? [];
    return [h.map((m) => m.epoch), h.map((m) => m.trainAccuracy), h.map((m) => m.testAccuracy)];
  }, [run?.history]);
  const lossSeries: ChartSeries[] = [
    { label: 'train loss (each step)', color: '#8ab4f8' },
    { label: 'train loss (epoch mean)', color: '#1f6feb', points: true },
    { label: 'test loss', color: '#cf222e', points: true },
  ];
  const accuracySeries: ChartSeries[] = [
    { label: 'train accuracy', color: '#1f6feb', points: true },
    { label: 'test accuracy', color: '#cf222e', points: true },
  ];
  const xRange: [number, number] = [0, run?.epochs ?? 1];

  // ---- view ----------------------------------------------------------------------------------------------------
  const training = trainState === 'training';
  const progress = run?.progress ?? null;
  const lastMetrics = run?.history[run.history.length - 1] ?? null;
  const input = (field: FieldName, label: string, extra: Record<string, string | number> = {}) => {
    const error = checked.errors[field];
    const note = checked.notes[field];
    return (
      <div class="field">
        <label>
          {label}
          <input id={`train-${field === 'weightDecay' ? 'weight-decay' : field}`} type="number" value={form[field]} onInput={set(field)}
            disabled={training} aria-invalid={error ? 'true' : undefined} aria-describedby={error || note ? `train-${field}-message` : undefined} {...extra} />
        </label>
        <FieldMessage id={`train-${field}-message`} error={error} note={note} />
      </div>
    );
  };

  return (
    <div class="train-view">
      <fieldset class="train-data" disabled={training}>
        <legend>Data</legend>
        <div class="controls">
          <label>
            dataset
            <select id="train-dataset" value={dataChoice} onChange={(e) => chooseData((e.currentTarget as HTMLSelectElement).value)}>
              <option value="subset">Fashion-MNIST subset (2,000 train / 1,000 test, built in)</option>
              {serverDatasets.map((d) => (
                <option key={d.name} value={`server:${d.name}`}>{d.name === 'mnist' ? 'MNIST digits' : 'Fashion-MNIST'}, full (60,000 / 10,000, from the server)</option>
              ))}
              {droppedFiles.length > 0 && <option value="files">your IDX files ({droppedFiles.length})</option>}
            </select>
          </label>
          <label>
            class names of your files
            <select id="train-file-classes" value={fileClasses} onChange={(e) => {
              const v = (e.currentTarget as HTMLSelectElement).value as ClassNamesChoice;
              setFileClasses(v);
              if (dataChoice === 'files') void loadFiles(droppedFiles, v);
            }}>
              <option value="fashion-mnist">Fashion-MNIST (T-shirt/top ... Ankle boot)</option>
              <option value="mnist">MNIST (digits 0-9)</option>
            </select>
          </label>
        </div>
        <div class={dragOver ? 'dropzone over' : 'dropzone'}
          onDragOver={(e) => { e.preventDefault(); setDragOver(true); }}
          onDragLeave={() => setDragOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragOver(false);
            void loadFiles([...(e.dataTransfer?.files ?? [])], fileClasses);
          }}>
          <label>
            Drop your own 28x28 IDX files here (train and t10k images and labels, .gz or raw), or choose them:
            <input id="train-files" type="file" multiple accept=".gz,.idx,.idx1-ubyte,.idx3-ubyte,application/gzip,application/octet-stream"
              onChange={(e) => void loadFiles([...((e.currentTarget as HTMLInputElement).files ?? [])], fileClasses)} />
          </label>
        </div>
        <p id="train-data-status" role="status" aria-live="polite" data-train-count={dataSummary?.trainCount ?? ''} data-test-count={dataSummary?.testCount ?? ''}>
          {dataBusy ? '⏳ ' : ''}{dataStatus}
        </p>
      </fieldset>

      <fieldset class="train-settings" disabled={training}>
        <legend>Model and training</legend>
        <div class="controls">
          <div class="field">
            <label>
              model
              <select id="train-model" value={form.model} onChange={set('model')}>
                {TRAIN_MODELS.map((m) => <option key={m} value={m}>{MODEL_LABELS[m]}</option>)}
              </select>
            </label>
          </div>
          <div class="field">
            <label>
              optimizer
              <select id="train-optimizer" value={form.optimizer} onChange={set('optimizer')}>
                {OPTIMIZERS.map((o) => <option key={o} value={o}>{o === 'sgd' ? 'SGD with momentum' : o === 'adam' ? 'Adam' : 'AdamW'}</option>)}
              </select>
            </label>
          </div>
          {input('lr', 'learning rate', { step: 'any', min: 0 })}
          {form.optimizer === 'sgd' && input('momentum', 'momentum', { step: 'any', min: 0, max: 0.999 })}
          {input('weightDecay', 'weight decay', { step: 'any', min: 0 })}
          {input('batch', 'batch size', { step: 1, min: 1 })}
          {input('epochs', 'epochs', { step: 1, min: 1 })}
          <div class="field">
            <label>
              learning-rate schedule
              <select id="train-schedule" value={form.schedule} onChange={set('schedule')}>
                {SCHEDULES.map((s) => <option key={s} value={s}>{SCHEDULE_LABELS[s]}</option>)}
              </select>
            </label>
          </div>
          <div class="field">
            <label>
              augmentation
              <select id="train-augment" value={form.augment} onChange={set('augment')}>
                {AUGMENTATIONS.map((a) => <option key={a} value={a}>{AUGMENT_LABELS[a]}</option>)}
              </select>
            </label>
          </div>
          {input('seed', 'seed', { step: 1, min: 0 })}
          <div class="field">
            <label>
              backend
              <select id="train-backend" value={form.backend} onChange={set('backend')}>
                <option value="wasm">wasm (SIMD, threads)</option>
                <option value="reference">reference (plain TypeScript, slow)</option>
              </select>
            </label>
          </div>
          {form.backend === 'wasm' && input('threads', 'threads', { step: 1, min: 1, max: cores })}
        </div>
      </fieldset>

      {/* Outside the fieldset, which is disabled while training (Stop must stay usable). */}
      <div class="controls buttons">
          <button id="train-start" type="button" class="primary" onClick={() => void start()} disabled={training || !checked.settings || !dataSummary || dataBusy}>
            {trainState === 'idle' ? 'Train' : 'Train a new model'}
          </button>
          <button id="train-stop" type="button" onClick={stop} disabled={!training}>Stop</button>
      </div>

      <p id="train-message" class={trainState === 'error' ? 'error' : 'muted'} role="status" aria-live="polite">
        {message || (training ? 'starting...' : !checked.settings ? 'Fix the marked settings to train.' : '')}
      </p>

      <section class="train-live" aria-label="Training progress">
        <dl class="stats">
          <div><dt>model</dt><dd id="train-run-model">{run ? `${run.model} (${run.parameters.toLocaleString('en-US')} weights) on ${run.backend}` : '-'}</dd></div>
          <div><dt>epoch</dt><dd id="train-epoch">{progress ? `${progress.epoch} / ${progress.epochs}` : '-'}</dd></div>
          <div><dt>step</dt><dd id="train-step">{progress ? `${progress.step} / ${progress.stepsPerEpoch}` : '-'}</dd></div>
          <div><dt>loss</dt><dd id="train-loss">{progress ? progress.loss.toFixed(4) : '-'}</dd></div>
          <div><dt>learning rate</dt><dd id="train-current-lr">{progress ? progress.lr.toPrecision(3) : '-'}</dd></div>
          <div><dt>images/s</dt><dd id="train-ips">{progress ? Math.round(progress.imagesPerSecond).toLocaleString('en-US') : '-'}</dd></div>
          <div><dt>time left</dt><dd id="train-eta">{progress && training ? (progress.phase === 'evaluating' ? 'testing...' : duration(progress.secondsLeft)) : '-'}</dd></div>
          <div><dt>test accuracy</dt><dd id="train-test-accuracy">{pct(lastMetrics?.testAccuracy)}</dd></div>
        </dl>
        {progress && (
          <progress id="train-progress" max={progress.totalSteps} value={progress.globalStep} aria-label="training progress">
            {progress.globalStep} / {progress.totalSteps}
          </progress>
        )}
      </section>

      <div class="grid2">
        <Chart id="train-loss-chart" title="Loss" xLabel="epoch" yLabel="cross-entropy" series={lossSeries} data={lossData} xRange={xRange} />
        <Chart id="train-accuracy-chart" title="Accuracy" xLabel="epoch" yLabel="accuracy" series={accuracySeries} data={accuracyData}
          xRange={xRange} yRange={[0, 1]} formatY={(v) => `${Math.round(v * 100)}%`} />
      </div>

      {run && run.history.length > 0 && (
        <div class="scroll-x">
          <table id="train-history">
            <caption>Epochs</caption>
            <thead><tr><th scope="col">epoch</th><th scope="col">train loss</th><th scope="col">train acc.</th><th scope="col">test loss</th><th scope="col">test acc.</th><th scope="col">images/s</th><th scope="col">seconds</th></tr></thead>
            <tbody>
              {run.history.map((m) => (
                <tr key={m.epoch}>
                  <td>{m.epoch}</td><td>{m.trainLoss.toFixed(4)}</td><td>{pct(m.trainAccuracy)}</td><td>{m.testLoss.toFixed(4)}</td>
                  <td>{pct(m.testAccuracy)}</td><td>{Math.round(m.imagesPerSecond)}</td><td>{m.seconds.toFixed(1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <div class="grid2 results">
        <div>
          <h3>Where it goes wrong</h3>
          {run?.lastEpoch
            ? <ConfusionTable confusion={run.lastEpoch.confusion} classNames={run.classNames} epoch={run.lastEpoch.epoch} />
            : <p class="muted">The confusion matrix appears after the first epoch.</p>}
        </div>
        <div>
          <h3>Per class</h3>
          {run?.lastEpoch
            ? <PerClassAccuracy accuracy={run.lastEpoch.perClassAccuracy} classNames={run.classNames} />
            : <p class="muted">Per-class accuracy appears after the first epoch.</p>}
        </div>
      </div>

      <h3>Predictions on test images</h3>
      {run
        ? <PredictionGrid cells={run.cells} classNames={run.classNames} epoch={run.lastEpoch?.epoch ?? null} onPick={pickImage} />
        : <p class="muted">Train a model to see its predictions.</p>}
    </div>
  );
}
