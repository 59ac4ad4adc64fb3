/**
 * The Train tab's results: the confusion matrix, per-class accuracy and the prediction grid. They change once
 * per epoch, so they are memoised: the ~10 progress updates a second do not re-render them.
 */
import { memo } from 'preact/compat';
import { useEffect, useRef } from 'preact/hooks';

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '-');

/** confusion[true][predicted] as a table; cells shaded by their share of the row (the true class). */
function ConfusionTableView({ confusion, classNames, epoch }: { confusion: number[][]; classNames: string[]; epoch: number }) {
  const total = confusion.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  return (
    <div class="scroll-x">
      <table id="train-confusion" class="confusion" data-total={total} data-epoch={epoch}>
        <caption>
          Confusion matrix after epoch {epoch} ({total.toLocaleString('en-US')} test images): rows are the true class,
          columns the predicted class (numbered as the rows); the diagonal is right.
        </caption>
        <thead>
          <tr><th scope="col">true \ predicted</th>{classNames.map((name, j) => <th scope="col" key={j} title={name}>{j}</th>)}</tr>
        </thead>
        <tbody>
          {confusion.map((row, i) => {
            const rowTotal = row.reduce((a, b) => a + b, 0) || 1;
            return (
              <tr key={i}>
                <th scope="row">{i} {classNames[i]}</th>
                {row.map((count, j) => {
                  const share = count / rowTotal;
                  const hue = i === j ? '26, 127, 55' : '207, 34, 46';
                  return (
                    <td key={j} data-count={count} title={`true ${classNames[i]}, predicted ${classNames[j]}: ${count}`}
                      style={{ background: count ? `rgba(${hue}, ${(0.12 + 0.7 * share).toFixed(2)})` : undefined, fontWeight: i === j ? 600 : undefined }}>
                      {count}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function PerClassAccuracyView({ accuracy, classNames }: { accuracy: number[]; classNames: string[] }) {
  return (
    <table id="train-per-class" class="per-class">
      <caption>Test accuracy per class</caption>
      <thead><tr><th scope="col">class</th><th scope="col">accuracy</th><th scope="col" class="bar-cell"><span class="sr-only">bar</span></th></tr></thead>
      <tbody>
        {accuracy.map((a, k) => (
          <tr key={k} data-accuracy={a}>
            <th scope="row">{classNames[k]}</th>
            <td>{pct(a)}</td>
            <td class="bar-cell"><span class="bar" style={{ width: `${Number.isFinite(a) ? 100 * a : 0}%` }} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A 28x28 grayscale image (pixels in [0, 1], dark ink on white as the datasets are shown). */
export function DigitCanvas({ pixels, label }: { pixels: Float32Array; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    const image = ctx.createImageData(28, 28);
    for (let p = 0; p < 784; p++) {
      const v = 255 - Math.round(pixels[p]! * 255);
      image.data[p * 4] = v;
      image.data[p * 4 + 1] = v;
      image.data[p * 4 + 2] = v;
      image.data[p * 4 + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }, [pixels]);
  return <canvas ref={canvas} width={28} height={28} class="pixelated" role="img" aria-label={label} />;
}

export interface PredictionCell {
  index: number;
  label: number;
  pixels: Float32Array;
  predicted: number | null;
  confidence: number | null;
}

function PredictionGridView({ cells, classNames, epoch, onPick }: {
  cells: PredictionCell[]; classNames: string[]; epoch: number | null; onPick(cell: PredictionCell): void;
}) {
  const wrong = cells.filter((c) => c.predicted !== null && c.predicted !== c.label).length;
  return (
    <div>
      <p class="muted" id="train-predictions-summary">
        {epoch === null
          ? 'Predictions appear after the first epoch.'
          : `${cells.length} test images after epoch ${epoch}: ${cells.length - wrong} right, ${wrong} wrong (marked ✗). Click one to try it in "Your input".`}
      </p>
      <div id="train-predictions" class="predictions">
        {cells.map((c) => {
          const known = c.predicted !== null;
          const right = known && c.predicted === c.label;
          const verdict = !known ? 'not predicted yet' : right ? 'right' : 'wrong';
          return (
            <figure key={c.index} data-index={c.index} data-true={c.label} data-predicted={c.predicted ?? ''} class={known ? (right ? 'right' : 'wrong') : ''}>
              <button type="button" onClick={() => onPick(c)}
                aria-label={`test image ${c.index}: true ${classNames[c.label]}${known ? `, predicted ${classNames[c.predicted!]} (${verdict})` : ''}; open in Your input`}>
                <DigitCanvas pixels={c.pixels} label={`test image ${c.index}`} />
              </button>
              <figcaption>
                <span class="verdict" aria-hidden="true">{!known ? '' : right ? '✓' : '✗'}</span>{' '}
                <span class="predicted">{known ? classNames[c.predicted!] : '?'}</span>
                {known && <span class="confidence"> {pct(c.confidence!)}</span>}
                <br /><span class="true-label">true: {classNames[c.label]}</span>
              </figcaption>
            </figure>
          );
        })}
      </div>
    </div>
  );
}

export const ConfusionTable = memo(ConfusionTableView);
export const PerClassAccuracy = memo(PerClassAccuracyView);
export const PredictionGrid = memo(PredictionGridView);
