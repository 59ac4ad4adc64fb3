/**
 * Claim 2, translation equivariance layer by layer: shift the input by (dx, dy), then compare map(shift x) with
 * shift(map x) on the interior of every layer (`compareShiftedLayer` from the lab). The user's model when there
 * is one (main engine), else a seeded LeNet-5 and an MLP (this tab's engine).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../app.js';
import { useClaimsEngine } from './ClaimsView.js';
import type { ClaimModelSource, EquivarianceLayer, EquivarianceResult } from './protocol.js';
import { Alert, NumberField, Panel, PlaneCanvas, sci, toInteger } from './widgets.js';

function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

function LayerRow({ model, layer }: { model: string; layer: EquivarianceLayer }) {
  const scale = layer.maps ? maxAbs(layer.maps.mapThenShift.values) : 0;
  const box = layer.metric === 'equivariance' ? { rows: layer.interiorRows, cols: layer.interiorCols } : null;
  const exact = layer.metric === 'equivariance' && layer.relativeError <= 1e-5;
  return (
    <tr data-model={model} data-layer={layer.path} data-type={layer.type} data-metric={layer.metric}
      data-interior-error={layer.relativeError} data-aligned={String(layer.aligned)}>
      <th scope="row" class="left">{layer.path}<br /><small>{layer.type}</small></th>
      <td>{layer.shape.slice(1).join('x')}</td>
      <td>{layer.metric === 'change' || Number.isNaN(layer.jump[1]) ? '-' : `${layer.jump[0]}x${layer.jump[1]}`}</td>
      <td class={exact ? 'good' : ''}>
        {sci(layer.relativeError)}{layer.metric === 'change' ? ' (change)' : layer.aligned ? '' : ' *'}
      </td>
      <td class="left maps">
        {layer.maps ? (
          <span class="map-row">
            <PlaneCanvas plane={layer.maps.shiftThenMap} size={48} label={`${layer.path}: map of the shifted input, channel 0`} />
            <PlaneCanvas plane={layer.maps.mapThenShift} size={48} label={`${layer.path}: shifted map, channel 0`} />
            <PlaneCanvas plane={layer.maps.error} size={48} mode="heat" range={[0, scale || 1]} box={box} label={`${layer.path}: difference, largest over channels`} />
          </span>
        ) : <small>no positions: a flat layer</small>}
      </td>
    </tr>
  );
}

export function EquivariancePanel() {
  const app = useApp();
  const engine = useClaimsEngine();
  const [fields, setFields] = useState({ dx: '2', dy: '0', image: '0' });
  const [choice, setChoice] = useState<ClaimModelSource | 'auto'>('auto');
  const [open, setOpen] = useState(false);
  const [result, setResult] = useState<EquivarianceResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const request = useRef(0);
  const source: ClaimModelSource = choice === 'auto' ? (app.model ? 'yours' : 'seeded') : choice;
  // While the Train tab trains, the weights move every step: re-measure when training pauses, not at every step.
  const modelVersion = app.training ? 'training' : app.model?.version ?? -1;

  useEffect(() => {
    if (!open) return;
    const id = ++request.current;
    setBusy(true);
    const params = { source, dx: toInteger(fields.dx), dy: toInteger(fields.dy), image: toInteger(fields.image) };
    // The user's model lives in the main engine; seeded models in this tab's own.
    const client = source === 'yours' ? Promise.resolve(app.client) : engine();
    void client.then((c) => c.call('claims.equivariance', params)).then(
      (r) => { if (id === request.current) { setResult(r); setError(null); setBusy(false); } },
      (e: Error) => { if (id === request.current) { setResult(null); setError(e.message); setBusy(false); } },
    );
  }, [open, fields, source, modelVersion, engine, app.client]);

  const set = (key: keyof typeof fields) => (v: string) => setFields((f) => ({ ...f, [key]: v }));
  return (
    <Panel id="claim-equivariance" title="2. Convolution commutes with shifts; pooling and dense layers do not" onOpen={() => setOpen(true)}>
      <p>
        Shift the image, then run a layer; or run the layer, then shift its output. For a convolution both give the
        same map away from the borders (equivariance), to float rounding. A pooling or strided layer only commutes
        with shifts its stride divides, and an MLP's units have no positions to shift at all: for its layers the
        table shows how much the output changes.
      </p>
      <div class="controls">
        <NumberField label="shift right, dx (px)" name="equivariance-dx" value={fields.dx} onInput={set('dx')} min={-8} max={8} />
        <NumberField label="shift down, dy (px)" name="equivariance-dy" value={fields.dy} onInput={set('dy')} min={-8} max={8} />
        <NumberField label="test image" name="equivariance-image" value={fields.image} onInput={set('image')} min={0} />
        <label>
          model
          <select name="equivariance-model" value={choice} onChange={(e) => setChoice((e.currentTarget as HTMLSelectElement).value as ClaimModelSource | 'auto')}>
            <option value="auto">{app.model ? `automatic: your ${app.model.name}` : 'automatic: seeded LeNet-5 and MLP'}</option>
            <option value="yours" disabled={!app.model}>your model{app.model ? ` (${app.model.name})` : ' (none yet)'}</option>
            <option value="seeded">seeded LeNet-5 and MLP</option>
          </select>
        </label>
        {busy && <span role="status">measuring...</span>}
      </div>
      <Alert message={error} />
      {result && (
        <div class="equivariance-result" data-dx={result.dx} data-dy={result.dy}>
          <p class="map-row">
            <PlaneCanvas plane={result.input} size={84} label={`test image ${result.image}`} />
            <PlaneCanvas plane={result.shiftedInput} size={84} label={`test image ${result.image} shifted by (${result.dx}, ${result.dy})`} />
            <small>test image {result.image}, and shifted by dx={result.dx}, dy={result.dy} (black fill)</small>
          </p>
          {result.models.map((m) => (
            <div key={m.model} class="scroll-x" data-model={m.model} data-source={m.source}>
              <h4>{m.model} <small>({m.weights})</small></h4>
              <table class="claim-table">
                <thead>
                  <tr><th scope="col" class="left">layer</th><th scope="col">output</th><th scope="col">stride</th><th scope="col">relative error on the interior</th>
                    <th scope="col" class="left">map(shift x), shift(map x), |difference|</th></tr>
                </thead>
                <tbody>{m.layers.map((l) => <LayerRow key={l.path} model={m.model} layer={l} />)}</tbody>
              </table>
            </div>
          ))}
          <p><small>
            Relative error = ||map(shift x) - shift(map x)|| / ||map x|| over the interior (positions whose receptive
            field sees neither padding nor pixels the shift moved in or out; the blue box on the difference map).
            * = the shift is not a multiple of the layer's stride, so its output can only be shifted by a rounded
            amount. Green: exact to 1e-5. Error maps are on the scale of the layer's own map (white = 0).
          </small></p>
        </div>
      )}
    </Panel>
  );
}
