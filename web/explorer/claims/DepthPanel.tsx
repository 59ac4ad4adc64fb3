/**
 * Claim 6, depth needs skip connections: plain vs residual training-loss curves as the lab recorded them
 * (lab/depth.json and lab/depth-adam.json, fetched by this tab's engine from ./lab/ beside the page).
 */
import { useState } from 'preact/hooks';
import { useClaimsEngine } from './ClaimsView.js';
import type { DepthFile } from './protocol.js';
import { Alert, LineChart, Panel } from './widgets.js';

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
        identity is free, and depth stops hurting. These curves are the lab's recorded runs, not a live run: four
        20- and 56-layer nets take minutes per step budget even on the wasm backend.
      </p>
      <Alert message={error} />
      {files === null && !error && <p role="status">loading the lab's results...</p>}
      {files?.map((f) => <DepthChart key={f.url} file={f} />)}
    </Panel>
  );
}
