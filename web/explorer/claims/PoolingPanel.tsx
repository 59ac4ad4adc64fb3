/**
 * Claim 3, pooling gives robustness to small shifts, not invariance: the lab's four pooling variants
 * (`poolingModel`), trained briefly in this tab's engine, and their prediction for one test image shifted by
 * -4..4 pixels.
 */
import { useState } from 'preact/hooks';
import { useClaimsEngine } from './ClaimsView.js';
import type { PoolingResult } from './protocol.js';
import { Alert, LineChart, NumberField, Panel, pct, Progress, toInteger } from './widgets.js';

const COLORS: Record<string, string> = { maxpool: '#0072B2', avgpool: '#D55E00', strided: '#009E73', gap: '#CC79A7' };

export function PoolingPanel() {
  const engine = useClaimsEngine();
  const [fields, setFields] = useState({ steps: '60', batch: '32', image: '0' });
  const [axis, setAxis] = useState<'horizontal' | 'vertical'>('horizontal');
  const [result, setResult] = useState<PoolingResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number; message: string } | null>(null);

  const run = async (): Promise<void> => {
    setRunning(true);
    setError(null);
    setProgress(null);
    try {
      const c = await engine();
      const off = c.on('claims.progress', (p) => { if (p.task === 'pooling') setProgress(p); });
      try {
        setResult(await c.call('claims.pooling', { steps: toInteger(fields.steps), batchSize: toInteger(fields.batch), image: toInteger(fields.image), axis }));
      } finally {
        off();
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setRunning(false);
    }
  };
  const stop = async (): Promise<void> => { await (await engine()).call('claims.stop', {}); };
  const set = (key: keyof typeof fields) => (v: string) => setFields((f) => ({ ...f, [key]: v }));

  const shifts = result?.variants[0]?.curve.map((p) => p.shift) ?? [];
  return (
    <Panel id="claim-pooling" title="3. Pooling makes a CNN robust to small shifts, not invariant" onOpen={() => undefined}>
      <p>
        Four small CNNs differ only in how they shrink their feature maps: max pooling, average pooling, a stride-2
        convolution, and max pooling with a global-average-pooling head. Shift one test image a few pixels and
        watch each one's prediction and confidence: pooling softens the effect of a shift but does not remove it.
      </p>
      <p class="note">
        The models are trained here, in your browser, on the embedded 2,000-image subset (the lab keeps accuracies,
        not weights; its full run trained 200 steps x 64 images on 60,000: see <code>lab/LAB.md</code>).
        Training happens once per steps and batch setting; a new image or direction reuses the trained models.
      </p>
      <div class="controls">
        <NumberField label="training steps" name="pooling-steps" value={fields.steps} onInput={set('steps')} min={1} max={2000} />
        <NumberField label="batch size" name="pooling-batch" value={fields.batch} onInput={set('batch')} min={1} max={256} />
        <NumberField label="test image" name="pooling-image" value={fields.image} onInput={set('image')} min={0} max={999} />
        <label>
          shift direction
          <select name="pooling-axis" value={axis} onChange={(e) => setAxis((e.currentTarget as HTMLSelectElement).value as 'horizontal' | 'vertical')}>
            <option value="horizontal">horizontal (right +)</option>
            <option value="vertical">vertical (down +)</option>
          </select>
        </label>
        <button type="button" class="run" onClick={() => void run()} disabled={running}>Train and measure</button>
        <button type="button" onClick={() => void stop()} disabled={!running}>Stop</button>
      </div>
      {running && progress && <Progress {...progress} />}
      <Alert message={error} />
      {result && (
        <div class="pooling-result" data-image={result.image} data-trained-now={String(result.trainedNow)}>
          <p>
            Test image {result.image} ({result.labelClass}). The chart shows each model's probability for the true
            class as the image moves {result.axis === 'horizontal' ? 'left (-) and right (+)' : 'up (-) and down (+)'};
            the table, the predicted class and its probability.
          </p>
          <LineChart title={`Probability of "${result.labelClass}" under a ${result.axis} shift`} xLabel="shift (px)" yLabel="probability"
            yRange={[0, 1]} formatY={(v) => v.toFixed(2)}
            series={result.variants.map((v) => ({ label: v.variant, color: COLORS[v.variant] ?? '#333', points: true }))}
            data={[shifts, ...result.variants.map((v) => v.curve.map((p) => p.trueClassConfidence))]} />
          <div class="scroll-x">
            <table class="claim-table">
              <thead><tr><th scope="col" class="left">model</th><th scope="col">test accuracy</th>{shifts.map((s) => <th key={s} scope="col">{s > 0 ? `+${s}` : s} px</th>)}</tr></thead>
              <tbody>
                {result.variants.map((v) => (
                  <tr key={v.variant} data-variant={v.variant} data-points={v.curve.length} data-test-accuracy={v.testAccuracy}>
                    <th scope="row" class="left">{v.variant}<br /><small>{v.what}; {v.parameters.toLocaleString('en-US')} parameters</small></th>
                    <td>{pct(v.testAccuracy)}</td>
                    {v.curve.map((p) => (
                      <td key={p.shift} data-shift={p.shift} data-predicted={p.predicted} data-confidence={p.confidence}
                        data-true-confidence={p.trueClassConfidence} class={p.predicted === result.label ? 'good' : 'bad'}>
                        {p.predictedClass}<br /><small>{pct(p.confidence, 0)}</small>
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p><small>{result.variants[0]?.training}; test accuracy over the subset's 1,000 test images.</small></p>
        </div>
      )}
    </Panel>
  );
}
