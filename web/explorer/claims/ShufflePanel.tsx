/**
 * Claim 4, pixel shuffle: an MLP and LeNet-5, each trained on original images and on images whose pixels are
 * moved by one fixed seeded permutation (the lab's), in turns in this tab's engine; live test-accuracy curves.
 */
import { useState } from 'preact/hooks';
import { useClaimsEngine } from './ClaimsView.js';
import type { ShuffleResult } from './protocol.js';
import { Alert, LineChart, NumberField, Panel, pct, PlaneCanvas, Progress, toInteger } from './widgets.js';

const RUNS = [
  { run: 'mlp original', color: '#0072B2' },
  { run: 'mlp shuffled', color: '#0072B2', dash: [6, 4] },
  { run: 'lenet5 original', color: '#D55E00' },
  { run: 'lenet5 shuffled', color: '#D55E00', dash: [6, 4] },
];

type Points = Record<string, { step: number; accuracy: number }[]>;

export function ShufflePanel() {
  const engine = useClaimsEngine();
  const [fields, setFields] = useState({ epochs: '1', batch: '32', every: '10', test: '500' });
  const [points, setPoints] = useState<Points>({});
  const [result, setResult] = useState<ShuffleResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number; message: string } | null>(null);

  const run = async (): Promise<void> => {
    setRunning(true);
    setError(null);
    setProgress(null);
    setResult(null);
    setPoints({});
    try {
      const c = await engine();
      const offPoint = c.on('claims.shufflePoint', (p) => setPoints((all) => ({ ...all, [p.run]: [...(all[p.run] ?? []), { step: p.step, accuracy: p.accuracy }] })));
      const offProgress = c.on('claims.progress', (p) => { if (p.task === 'shuffle') setProgress(p); });
      try {
        const r = await c.call('claims.shuffle', { epochs: toInteger(fields.epochs), batchSize: toInteger(fields.batch), evalEvery: toInteger(fields.every), testImages: toInteger(fields.test) });
        setResult(r);
        setPoints(Object.fromEntries(r.runs.map((x) => [x.run, x.points])));
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

  // The four runs are evaluated at the same steps; the longest list gives the x axis.
  const steps = Object.values(points).reduce<number[]>((a, p) => (p.length > a.length ? p.map((q) => q.step) : a), []);
  const data = [steps, ...RUNS.map((r) => steps.map((_, i) => points[r.run]?.[i]?.accuracy ?? null))];
  const last = (run: string): number | null => points[run]?.at(-1)?.accuracy ?? null;
  const gap = (model: string): number | null => {
    const a = last(`${model} original`), b = last(`${model} shuffled`);
    return a === null || b === null ? null : a - b;
  };
  return (
    <Panel id="claim-shuffle" title="4. Shuffling the pixels hurts a CNN, not an MLP" onOpen={() => undefined}>
      <p>
        Move every image's pixels by one fixed random permutation (the same for all images). An MLP cannot tell: its
        first layer weighs each pixel separately, so it learns the shuffled task exactly as well. A CNN relies on
        neighbouring pixels belonging together, so it loses the edge it had over the MLP.
      </p>
      <div class="controls">
        <NumberField label="epochs (of 2,000 images)" name="shuffle-epochs" value={fields.epochs} onInput={set('epochs')} min={1} max={20} />
        <NumberField label="batch size" name="shuffle-batch" value={fields.batch} onInput={set('batch')} min={1} max={256} />
        <NumberField label="test every (steps)" name="shuffle-every" value={fields.every} onInput={set('every')} min={1} />
        <NumberField label="test images" name="shuffle-test" value={fields.test} onInput={set('test')} min={10} max={1000} />
        <button type="button" class="run" onClick={() => void run()} disabled={running}>Train all four</button>
        <button type="button" onClick={() => void stop()} disabled={!running}>Stop</button>
      </div>
      {running && progress && <Progress {...progress} />}
      <Alert message={error} />
      {steps.length > 0 && (
        <div class="shuffle-result" data-complete={String(result !== null)} data-stopped={String(result?.stopped ?? false)}>
          <LineChart title="Test accuracy while training" xLabel="step" yLabel="test accuracy" yRange={[0, 1]} formatY={(v) => v.toFixed(2)}
            series={RUNS.map((r) => ({ label: r.run, color: r.color, ...(r.dash ? { dash: r.dash } : {}), points: true }))} data={data} />
          <div class="scroll-x">
            <table class="claim-table">
              <thead><tr><th scope="col" class="left">run</th><th scope="col">points</th><th scope="col">latest test accuracy</th></tr></thead>
              <tbody>
                {RUNS.map((r) => (
                  <tr key={r.run} data-run={r.run} data-points={points[r.run]?.length ?? 0} data-accuracy={last(r.run) ?? ''}>
                    <th scope="row" class="left">{r.run}</th><td>{points[r.run]?.length ?? 0}</td><td>{last(r.run) === null ? '-' : pct(last(r.run)!)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {result && (
            <p class="map-row">
              <PlaneCanvas plane={result.example.original} size={84} range={[0, 1]} label="test image 0" />
              <PlaneCanvas plane={result.example.shuffled} size={84} range={[0, 1]} label="test image 0 with its pixels shuffled" />
              <small>test image 0, and what the shuffled runs see instead</small>
            </p>
          )}
          {result && (
            <p>
              {result.stopped ? 'Stopped' : 'Finished'} after {result.runs[0]?.points.at(-1)?.step ?? 0} of {result.steps} steps each
              (Adam lr 0.001, seed 0; permutation drawn with seed {result.permutationSeed}, as <code>convkit lab shuffle</code>);
              test accuracy on {result.testImages} test images. Shuffling costs the MLP{' '}
              <strong data-gap="mlp">{gap('mlp') === null ? '-' : `${(gap('mlp')! * 100).toFixed(1)} points`}</strong> and LeNet-5{' '}
              <strong data-gap="lenet5">{gap('lenet5') === null ? '-' : `${(gap('lenet5')! * 100).toFixed(1)} points`}</strong>.
              Short runs are noisy; the lab's full run (2,000 steps x 64 on 60,000 images, 3 seeds) is in <code>lab/LAB.md</code>.
            </p>
          )}
        </div>
      )}
    </Panel>
  );
}
