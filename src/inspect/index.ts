/**
 * Model inspection (browser-safe): `summary` (shapes, parameters, MACs, receptive fields per layer), the
 * receptive-field arithmetic, the parameter ledger (dense vs locally connected vs conv), every leaf layer's
 * output (`traceLayers`) and the input pixels one unit sees (`unitField`).
 */
export { summary, formatSummary, formatCount, formatScaled, type ModelSummary, type SummaryRow, type FormatSummaryOptions } from './summary.js';
export { INPUT_FIELD, composeField, mergeFields, chainField, formatField, type ReceptiveField, type WindowGeometry } from './receptive.js';
export {
  layerLedger, modelLedger, defaultLedgerGeometry, formatLayerLedger, formatModelLedger,
  type LayerLedger, type LayerLedgerOptions, type LedgerGeometry, type LayerCost, type ModelLedger, type ModelLedgerRow,
} from './ledger.js';
export { TraceBackend, type TracedField } from './trace_backend.js';
export { unitField, traceLayers, leafLayers, type PixelBounds, type LayerOutput } from './units.js';
