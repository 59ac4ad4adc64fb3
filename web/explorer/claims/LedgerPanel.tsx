/**
 * Claim 1, the parameter ledger: a dense layer, a locally connected layer and a convolution for the same input
 * and (as nearly as the geometry allows) the same number of output units. Numbers from `layerLedger`.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useClaimsEngine } from './ClaimsView.js';
import type { LayerLedger, LedgerParams } from './protocol.js';
import { Alert, NumberField, Panel, toInteger } from './widgets.js';

const n = (v: number): string => v.toLocaleString('en-US');
const ratio = (v: number): string => (v >= 100 ? `${Math.round(v).toLocaleString('en-US')}x` : `${v.toFixed(v >= 10 ? 1 : 2)}x`);

export function LedgerPanel() {
  const engine = useClaimsEngine();
  const [fields, setFields] = useState({ height: '200', width: '200', channels: '3', units: '1000', filters: '', kernel: '', stride: '' });
  const [ledger, setLedger] = useState<LayerLedger | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const request = useRef(0);

  useEffect(() => {
    if (!open) return;
    const optional = (s: string): number | null => (s.trim() === '' ? null : Number(s));
    const params: LedgerParams = {
      height: toInteger(fields.height), width: toInteger(fields.width), channels: toInteger(fields.channels), units: toInteger(fields.units),
      filters: optional(fields.filters), kernel: optional(fields.kernel), stride: optional(fields.stride),
    };
    const id = ++request.current;
    void engine().then((c) => c.call('claims.ledger', params)).then(
      (l) => { if (id === request.current) { setLedger(l); setError(null); } },
      (e: Error) => { if (id === request.current) { setLedger(null); setError(e.message); } },
    );
  }, [open, fields, engine]);

  const set = (key: keyof typeof fields) => (v: string) => setFields((f) => ({ ...f, [key]: v }));
  return (
    <Panel id="claim-ledger" title="1. Local connectivity and weight sharing save parameters" onOpen={() => setOpen(true)}>
      <p>
        A dense layer connects every output unit to every input value. A locally connected layer lets each unit see
        only a small window (local connectivity); a convolution also makes all positions share one set of filters
        (weight sharing). Change the image and layer sizes to see what each saving is worth.
      </p>
      <div class="controls">
        <NumberField label="image height" name="ledger-height" value={fields.height} onInput={set('height')} min={1} />
        <NumberField label="image width" name="ledger-width" value={fields.width} onInput={set('width')} min={1} />
        <NumberField label="channels" name="ledger-channels" value={fields.channels} onInput={set('channels')} min={1} />
        <NumberField label="output units" name="ledger-units" value={fields.units} onInput={set('units')} min={1} />
        <NumberField label="filters (blank: auto)" name="ledger-filters" value={fields.filters} onInput={set('filters')} min={1} placeholder="auto" />
        <NumberField label="kernel (blank: auto)" name="ledger-kernel" value={fields.kernel} onInput={set('kernel')} min={1} placeholder="auto" />
        <NumberField label="stride (blank: 1 or auto)" name="ledger-stride" value={fields.stride} onInput={set('stride')} min={1} placeholder="auto" />
      </div>
      <Alert message={error} />
      {ledger && (
        <div>
          <div class="scroll-x">
            <table class="claim-table">
              <thead><tr><th scope="col" class="left">layer</th><th scope="col">output units</th><th scope="col">inputs per unit</th><th scope="col">parameters</th><th scope="col">multiply-adds per image</th></tr></thead>
              <tbody>
                {([['dense', ledger.dense], ['local', ledger.local], ['conv', ledger.conv]] as const).map(([kind, cost]) => (
                  <tr key={kind} data-kind={kind} data-parameters={cost.params} data-macs={cost.macs}>
                    <th scope="row" class="left">{cost.kind}<br /><small>{cost.description}</small></th>
                    <td>{n(cost.outputUnits)}</td><td>{n(cost.connectionsPerUnit)}</td><td class="params">{n(cost.params)}</td><td>{n(cost.macs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p>
            Local connectivity saves <strong data-saving="locality">{ratio(ledger.localitySaving)}</strong> (each unit
            sees {ledger.kernel}x{ledger.kernel}x{ledger.input[0]} instead of {ledger.input[1]}x{ledger.input[2]}x{ledger.input[0]});
            weight sharing saves <strong data-saving="sharing">{ratio(ledger.sharingSaving)}</strong> more ({ledger.outputGrid[0]}x{ledger.outputGrid[1]} positions
            share {n(ledger.channels)} filters). Sharing saves parameters, not arithmetic: the locally connected layer and the
            convolution do the same multiply-adds.
          </p>
        </div>
      )}
    </Panel>
  );
}
