/**
 * Claim 6, depth needs skip connections: plain vs residual training-loss curves as the lab recorded them
 * (lab/depth.json and lab/depth-adam.json, fetched by this tab's engine from ./lab/ beside the page), and a
 * short live run of the same four nets in this tab's engine.
 */
import { useState } from 'preact/hooks';
import { useClaimsEngine } from './ClaimsView.js';
import type { DepthFile, DepthSeries } from './protocol.js';
import { Alert, LineChart, NumberField, Panel, Progress, toInteger } from './widgets.js';

const COLORS: Record<string, string> = { plain20: '#0072B2', plain56: '#D55E00', resnet20: '#56B4E9', resnet56: '#E69F00' };

function DepthChart({ file }: { file: DepthFile }) {
  const steps = file.series[0]?.points.map((p) => p.step) ?? [];
  return (
    <div class="depth-file" data-file={file.url}>
      <h4>{file.title}</h4>
      <LineChart title={`Training loss${file.seeds.length > 1 ? `, mean of ${file.seeds.length} seeds` : ''}`} xLabel="step" yLabel="training loss"
        series={file.series.map((s) => ({ label: s.model, color: COLORS[s.model] ?? '#333', ...(s.model.startsWith('plain') ? { dash: [6, 4] } : {}) }))}
        data={[steps, ...file.series.map((s) => s.points.map((p) => p.loss))]} formatY={(v) => v.toFixed(2)} />
      <ul class="depth-series">
        {file.series.map((s) => (
          <li key={s.model} data-series={s.model} data-points={s.points.length} data-last-loss={s.points.at(-1)?.loss}>
            {s.model}: {s.points.length} points, last {s.points.at(-1)?.loss.toFixed(3)}
          </li>
        ))}
      </ul>
      <p><small>
        Recorded by <code>convkit lab</code> ({file.scale} scale, {file.backend}, {file.startedAt.slice(0, 10)}): {file.budget}, seeds {file.seeds.join(', ')}.
        {' '}{file.summary}
      </small></p>
    </div>
  );
}

const MODELS = ['plain20', 'plain56', 'resnet20', 'resnet56'];

function LiveRun() {
  const engine = useClaimsEngine();
  const [fields, setFields] = useState({ steps: '30', batch: '16', every: '5' });
  const [series, setSeries] = useState<Record<string, DepthSeries['points']>>({});
  const [outcome, setOutcome] = useState<{ budget: string; stopped: boolean; steps: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number; message: string } | null>(null);

  const run = async (): Promise<void> => {
    setRunning(true);
    setError(null);
    setProgress(null);
    setOutcome(null);
    setSeries({});
    try {
      const c = await engine();
      const offPoint = c.on('claims.depthPoint', (p) => setSeries((all) => ({ ...all, [p.model]: [...(all[p.model] ?? []), { step: p.step, loss: p.loss, min: p.loss, max: p.loss }] })));
      const offProgress = c.on('claims.progress', (p) => { if (p.task === 'depth') setProgress(p); });
      try {
        const r = await c.call('claims.depthLive', { steps: toInteger(fields.steps), batchSize: toInteger(fields.batch), lossEvery: toInteger(fields.every) });
        setSeries(Object.fromEntries(r.series.map((x) => [x.model, x.points])));
        setOutcome({ budget: r.budget, stopped: r.stopped, steps: r.steps });
      } finally {
        offPoint();
        offProgress();
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setRunning(false);
    }
  };
  const stop = async (): Promise<void> => { await (await engine()).call('claims.stop', {}); };
  const set = (key: keyof typeof fields) => (v: string) => setFields((f) => ({ ...f, [key]: v }));
  const steps = Object.values(series).reduce<number[]>((a, p) => (p.length > a.length ? p.map((q) => q.step) : a), []);

  return (
    <div class="depth-live" data-complete={String(outcome !== null)} data-stopped={String(outcome?.stopped ?? false)}>
      <h4>A short live run</h4>
      <p>
        The same four nets trained here, in turns, from seed 0 with Adam (lr 0.001) on the embedded subset. A few
        dozen steps show the start of the curves only; the recorded runs above are the measurement.
      </p>
      <div class="controls">
        <NumberField label="training steps" name="depth-steps" value={fields.steps} onInput={set('steps')} min={1} max={1000} />
        <NumberField label="batch size" name="depth-batch" value={fields.batch} onInput={set('batch')} min={1} max={128} />
        <NumberField label="loss averaged over (steps)" name="depth-every" value={fields.every} onInput={set('every')} min={1} />
        <button type="button" class="run" onClick={() => void run()} disabled={running}>Train the four nets</button>
        <button type="button" onClick={() => void stop()} disabled={!running}>Stop</button>
      </div>
      {running && progress && <Progress {...progress} />}
      <Alert message={error} />
      {steps.length > 0 && (
        <div>
          <LineChart title="Training loss, live" xLabel="step" yLabel="training loss" formatY={(v) => v.toFixed(2)}
            series={MODELS.map((m) => ({ label: m, color: COLORS[m] ?? '#333', points: true, ...(m.startsWith('plain') ? { dash: [6, 4] } : {}) }))}
            data={[steps, ...MODELS.map((m) => steps.map((_, i) => series[m]?.[i]?.loss ?? null))]} />
          <ul class="depth-series">
            {MODELS.map((m) => (
              <li key={m} data-live-series={m} data-points={series[m]?.length ?? 0} data-last-loss={series[m]?.at(-1)?.loss ?? ''}>
                {m}: {series[m]?.length ?? 0} points{series[m]?.length ? `, last ${series[m]!.at(-1)!.loss.toFixed(3)}` : ''}
              </li>
            ))}
          </ul>
          {outcome && <p><small>{outcome.stopped ? 'Stopped early. ' : ''}{outcome.budget}.</small></p>}
        </div>
      )}
    </div>
  );
}

export function DepthPanel() {
  const engine = useClaimsEngine();
  const [files, setFiles] = useState<DepthFile[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async (): Promise<void> => {
    try {
      const r = await (await engine()).call('claims.depthResults', {});
      setFiles(r.files);
      setError(r.missing.length ? `could not load ${r.missing.map((m) => `${m.url} (${m.reason})`).join('; ')}` : null);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <Panel id="claim-depth" title="6. Deeper plain nets train worse; skip connections fix it" onOpen={() => void load()}>
      <p>
        Stacking more layers should never hurt in principle (extra layers could learn the identity), yet a 56-layer
        plain net trains worse than a 20-layer one. Residual nets add each block's input to its output, so the
        identity is free, and depth stops hurting. The curves first are the lab's recorded runs (minutes of
        training per net); below them, a short live run you can start.
      </p>
      <Alert message={error} />
      {files === null && !error && <p role="status">loading the lab's results...</p>}
      {files?.map((f) => <DepthChart key={f.url} file={f} />)}
      <LiveRun />
    </Panel>
  );
}
