/**
 * Claim 5, a hierarchy of features: for channels at each depth (each ReLU with a spatial output), the test-image
 * patches that activate them most, cut to the unit's receptive field (`topActivatingPatches` from the lab).
 * The user's model when there is one (main engine), else a LeNet-5 trained briefly in this tab's engine.
 */
import { useState } from 'preact/hooks';
import { useApp } from '../app.js';
import { useClaimsEngine } from './ClaimsView.js';
import type { ClaimModelSource, HierarchyResult } from './protocol.js';
import { Alert, NumberField, Panel, PlaneCanvas, pct, Progress, toInteger } from './widgets.js';

export function HierarchyPanel() {
  const app = useApp();
  const engine = useClaimsEngine();
  const [fields, setFields] = useState({ steps: '150', search: '1000', channels: '4', patches: '6' });
  const [choice, setChoice] = useState<ClaimModelSource | 'auto'>('auto');
  const [result, setResult] = useState<HierarchyResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number; message: string } | null>(null);
  const source: ClaimModelSource = choice === 'auto' ? (app.model ? 'yours' : 'seeded') : choice;

  const run = async (): Promise<void> => {
    setRunning(true);
    setError(null);
    setProgress(null);
    try {
      const c = source === 'yours' ? app.client : await engine();
      const off = c.on('claims.progress', (p) => { if (p.task === 'hierarchy') setProgress(p); });
      try {
        setResult(await c.call('claims.hierarchy', {
          source, steps: toInteger(fields.steps), searchImages: toInteger(fields.search),
          channelsPerLayer: toInteger(fields.channels), patchesPerChannel: toInteger(fields.patches),
        }));
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

  return (
    <Panel id="claim-hierarchy" title="5. Early layers see edges, deeper layers larger and more specific patterns" onOpen={() => undefined}>
      <p>
        Each unit of a layer looks at a window of the input, its receptive field, which grows with depth. For a few
        channels at each depth, here are the test-image windows that excite them most: small strokes and edges
        early, larger parts of garments later, more often from a single class.
      </p>
      <div class="controls">
        <label>
          model
          <select name="hierarchy-model" value={choice} onChange={(e) => setChoice((e.currentTarget as HTMLSelectElement).value as ClaimModelSource | 'auto')}>
            <option value="auto">{app.model ? `automatic: your ${app.model.name}` : 'automatic: LeNet-5 trained here'}</option>
            <option value="yours" disabled={!app.model}>your model{app.model ? ` (${app.model.name})` : ' (none yet)'}</option>
            <option value="seeded">LeNet-5 trained here</option>
          </select>
        </label>
        {source === 'seeded' && <NumberField label="training steps" name="hierarchy-steps" value={fields.steps} onInput={set('steps')} min={1} max={2000} />}
        <NumberField label="test images searched" name="hierarchy-search" value={fields.search} onInput={set('search')} min={10} />
        <NumberField label="channels per depth" name="hierarchy-channels" value={fields.channels} onInput={set('channels')} min={1} max={16} />
        <NumberField label="patches per channel" name="hierarchy-patches" value={fields.patches} onInput={set('patches')} min={1} max={16} />
        <button type="button" class="run" onClick={() => void run()} disabled={running}>Find top patches</button>
        <button type="button" onClick={() => void stop()} disabled={!running || source === 'yours'}>Stop</button>
      </div>
      {running && progress && <Progress {...progress} />}
      <Alert message={error} />
      {result && (
        <div class="hierarchy-result" data-model={result.model}>
          <p><small>{result.model} ({result.weights}); the strongest position per image, over the first {result.searchImages.toLocaleString('en-US')} test images.</small></p>
          {result.depths.map((d, i) => (
            <div key={d.path} class="depth" data-depth={i} data-layer={d.path} data-receptive-field={d.receptiveField[0]}
              data-patches={d.channels.reduce((a, c) => a + c.patches.length, 0)}>
              <h4>Depth {i + 1}: {d.path} <small>(receptive field {d.receptiveField[0]}x{d.receptiveField[1]} pixels)</small></h4>
              {d.channels.map((c) => (
                <div key={c.channel} class="patch-row" data-channel={c.channel} data-purity={c.purity}>
                  <span class="patch-label">channel {c.channel}: {c.topClass} {pct(c.purity, 0)}</span>
                  <span class="map-row">
                    {c.patches.map((p, k) => (
                      <PlaneCanvas key={k} plane={{ width: d.patchSize, height: d.patchSize, values: p.pixels }} size={40} range={[0, 1]}
                        label={`channel ${c.channel}, test image ${p.image}, activation ${p.value.toFixed(2)}`} />
                    ))}
                  </span>
                </div>
              ))}
            </div>
          ))}
          <p><small>Beside each channel: the most frequent class among its top 20 images and its share (10% would be chance).</small></p>
        </div>
      )}
    </Panel>
  );
}
