/**
 * "Your input": draw on a pad or upload an image, see it as the model sees it (after preprocessing) and the
 * model's class probabilities, updated as you draw.
 *
 * Preprocessing is the library's (src/data/preprocess.ts), so nothing here invents its own:
 * - a drawing is prepared as MNIST-family images were: light ink on a dark background, cropped to the ink's
 *   bounding box, its longer side scaled to 20 of 28 pixels keeping the aspect ratio, the box centred
 *   (`preprocessDrawing`);
 * - an upload is decoded by the browser at its natural size (createImageBitmap, EXIF orientation applied, no
 *   premultiplied alpha, no colour-profile conversion) and then goes through `preprocessImage` with the options
 *   `convkit predict` uses (stretch to the model's size, BT.601 gray, transparency over black, optional invert),
 *   so the page and the CLI give the same input for the same file.
 * The current input is shared with the Inside tab (`app.input`); a test image clicked in the Train tab shows
 * here too.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { preprocessDrawing, preprocessImage, type RgbaImage } from '../../../src/data/preprocess.js';
import { useApp } from '../app.js';
import { NoModelHint, drawInput, useLatestRunner } from './shared.js';

/** The drawing pad's resolution in canvas pixels (its CSS size shrinks on a phone; strokes scale with it). */
const PAD_SIZE = 280;
/** Minimum time between two updates while drawing. */
const DRAW_INTERVAL_MS = 100;
/** How many classes are highlighted as the top predictions. */
const TOP_K = 3;
/** The ink's longer side in a 28-pixel input, as MNIST prepared its digits. */
const INK_FRACTION = 20 / 28;

type Source = { kind: 'drawing' } | { kind: 'upload'; name: string; image: RgbaImage };

/** Decode an image file in the browser at its natural size as RGBA bytes. */
async function decodeUpload(file: File): Promise<RgbaImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new Error(`${file.name} is not an image this browser can decode (PNG or JPEG expected)`);
  }
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser gives no 2D canvas to decode the image');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  return { width: canvas.width, height: canvas.height, data };
}

export function InputView({ active: _active }: { active?: boolean }) {
  const app = useApp();
  const { model, input } = app;
  const shape: [number, number, number] = model?.inputShape ?? [1, 28, 28];
  const shapeKey = shape.join('x');
  const padRef = useRef<HTMLCanvasElement>(null);
  const previewRef = useRef<HTMLCanvasElement>(null);
  const sourceRef = useRef<Source | null>(null);
  const strokeRef = useRef<{ drawing: boolean; x: number; y: number; pointerId: number | null }>({ drawing: false, x: 0, y: 0, pointerId: null });
  const throttleRef = useRef<{ last: number; timer: number | null }>({ last: 0, timer: null });
  const [brush, setBrush] = useState(18);
  const [invert, setInvert] = useState(false);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [result, setResult] = useState<{ probabilities: Float32Array; classNames: string[]; source: string } | null>(null);
  const [predictError, setPredictError] = useState<string | null>(null);
  const runPredict = useLatestRunner();

  const clearPad = () => {
    const pad = padRef.current;
    const ctx = pad?.getContext('2d', { willReadFrequently: true });
    if (!pad || !ctx) return;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, pad.width, pad.height);
  };

  /** Preprocess the current source for the model's input shape and make it the app's input. */
  const publish = (source: Source | null = sourceRef.current) => {
    if (!source) return;
    const [c, h, w] = shape;
    if (c !== 1 && c !== 3) {
      setUploadError(`this model takes ${c}-channel images; drawings and uploads need 1 or 3 channels`);
      return;
    }
    if (source.kind === 'drawing') {
      const pad = padRef.current;
      const ctx = pad?.getContext('2d', { willReadFrequently: true });
      if (!pad || !ctx) return;
      const image = ctx.getImageData(0, 0, pad.width, pad.height);
      const inkSize = Math.max(1, Math.round(INK_FRACTION * Math.min(h, w)));
      const pixels = preprocessDrawing({ width: image.width, height: image.height, data: image.data }, { channels: c, size: [h, w], inkSize });
      app.setInput({ pixels, shape: [c, h, w], source: 'drawing', label: null });
    } else {
      const pixels = preprocessImage(source.image, { channels: c, size: [h, w], fit: 'fill', background: 0, invert });
      app.setInput({ pixels, shape: [c, h, w], source: `upload ${source.name}${invert ? ' (inverted)' : ''}`, label: null });
    }
  };

  /** Publish the drawing at most every DRAW_INTERVAL_MS while strokes come in, and once more at the end. */
  const publishDrawingSoon = (final: boolean) => {
    const t = throttleRef.current;
    const now = performance.now();
    if (t.timer !== null) clearTimeout(t.timer);
    t.timer = null;
    if (final || now - t.last >= DRAW_INTERVAL_MS) {
      t.last = now;
      publish({ kind: 'drawing' });
    } else {
      t.timer = window.setTimeout(() => { t.timer = null; t.last = performance.now(); publish({ kind: 'drawing' }); }, DRAW_INTERVAL_MS - (now - t.last));
    }
  };

  useEffect(() => {
    clearPad();
    return () => { const t = throttleRef.current; if (t.timer !== null) clearTimeout(t.timer); };
  }, []);

  // The model's input shape or the invert box changed: prepare our own source again (a test image is left alone).
  useEffect(() => {
    if (sourceRef.current && input && (input.source === 'drawing' || input.source.startsWith('upload '))) publish();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shapeKey, invert]);

  // Show the current input as the model sees it, and ask the engine for its probabilities.
  useEffect(() => {
    if (previewRef.current && input) drawInput(previewRef.current, input.pixels, input.shape);
    if (!model || !input) {
      setResult(null);
      setPredictError(null);
      return;
    }
    if (input.shape.join('x') !== model.inputShape.join('x')) {
      setResult(null);
      setPredictError(`this input is ${input.shape.join('x')} but the model takes ${model.inputShape.join('x')}: draw or upload again`);
      return;
    }
    const { pixels, source } = input;
    runPredict(async () => {
      try {
        const r = await app.client.call('engine.predict', { pixels: new Float32Array(pixels) });
        setResult({ ...r, source });
        setPredictError(null);
      } catch (e) {
        setPredictError((e as Error).message);
      }
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [input, model]);

  const padPoint = (e: { clientX: number; clientY: number }): [number, number] => {
    const pad = padRef.current!;
    const rect = pad.getBoundingClientRect();
    return [((e.clientX - rect.left) * pad.width) / rect.width, ((e.clientY - rect.top) * pad.height) / rect.height];
  };
  const strokeTo = (x: number, y: number, start: boolean) => {
    const ctx = padRef.current?.getContext('2d', { willReadFrequently: true });
    if (!ctx) return;
    const s = strokeRef.current;
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineWidth = brush;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    if (start) {
      ctx.beginPath();
      ctx.arc(x, y, brush / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.beginPath();
      ctx.moveTo(s.x, s.y);
      ctx.lineTo(x, y);
      ctx.stroke();
    }
    s.x = x;
    s.y = y;
  };
  const begin = (e: { clientX: number; clientY: number }) => {
    sourceRef.current = { kind: 'drawing' };
    strokeRef.current.drawing = true;
    const [x, y] = padPoint(e);
    strokeTo(x, y, true);
    publishDrawingSoon(false);
  };
  const move = (e: { clientX: number; clientY: number }) => {
    if (!strokeRef.current.drawing) return;
    const [x, y] = padPoint(e);
    strokeTo(x, y, false);
    publishDrawingSoon(false);
  };
  const end = () => {
    if (!strokeRef.current.drawing) return;
    strokeRef.current.drawing = false;
    strokeRef.current.pointerId = null;
    publishDrawingSoon(true);
  };
  // Pointer events cover mouse, pen and touch; browsers without them get mouse and touch handlers.
  const pointerSupported = typeof window !== 'undefined' && 'PointerEvent' in window;
  const padHandlers = pointerSupported
    ? {
      onPointerDown: (e: PointerEvent) => {
        e.preventDefault();
        padRef.current?.setPointerCapture(e.pointerId);
        strokeRef.current.pointerId = e.pointerId;
        begin(e);
      },
      onPointerMove: (e: PointerEvent) => { if (e.pointerId === strokeRef.current.pointerId) move(e); },
      onPointerUp: end,
      onPointerCancel: end,
    }
    : {
      onMouseDown: (e: MouseEvent) => begin(e),
      onMouseMove: (e: MouseEvent) => move(e),
      onMouseUp: end,
      onMouseLeave: end,
      onTouchStart: (e: TouchEvent) => { e.preventDefault(); if (e.touches[0]) begin(e.touches[0]); },
      onTouchMove: (e: TouchEvent) => { e.preventDefault(); if (e.touches[0]) move(e.touches[0]); },
      onTouchEnd: end,
    };

  const clear = () => {
    clearPad();
    if (sourceRef.current?.kind === 'drawing') publish({ kind: 'drawing' });
  };

  const onUpload = async (e: Event) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    setUploadError(null);
    try {
      const image = await decodeUpload(file);
      const source: Source = { kind: 'upload', name: file.name, image };
      sourceRef.current = source;
      publish(source);
    } catch (err) {
      setUploadError((err as Error).message);
    }
  };

  const ranked = result
    ? Array.from(result.probabilities, (p, index) => ({ index, name: result.classNames[index] ?? String(index), p }))
      .sort((a, b) => b.p - a.p || a.index - b.index)
    : [];
  const labelName = input && input.label !== null ? (model?.classNames[input.label] ?? String(input.label)) : null;

  return (
    <div class="inspect-grid">
      <div>
        <h3>Draw</h3>
        <p class="hint">Draw a light object on the dark pad, as in Fashion-MNIST. The drawing is cropped to its ink,
          scaled so its longer side is 20 of 28 pixels, and centred.</p>
        <canvas id="input-pad" ref={padRef} width={PAD_SIZE} height={PAD_SIZE} tabIndex={0}
          aria-label="drawing pad: draw with the mouse, a pen or a finger; Delete or Escape clears it"
          onKeyDown={(e) => { if (e.key === 'Delete' || e.key === 'Escape' || e.key === 'Backspace') { e.preventDefault(); clear(); } }}
          {...padHandlers} />
        <div class="controls">
          <label>brush size <span data-brush={brush}>{brush} px</span>
            <input id="input-brush" type="range" min={4} max={40} step={1} value={brush}
              onInput={(e) => setBrush(Number((e.target as HTMLInputElement).value))} />
          </label>
          <button id="input-clear" type="button" onClick={clear}>clear</button>
        </div>
        <h3>Or upload an image</h3>
        <div class="controls">
          <label>image file (PNG or JPEG, any size)
            <input id="input-upload" type="file" accept="image/png,image/jpeg,image/*" onChange={(e) => void onUpload(e)} />
          </label>
          <label class="check"><span>invert (dark object on a light background, like <code>convkit predict --invert</code>)</span>
            <input id="input-invert" type="checkbox" checked={invert} onChange={(e) => setInvert((e.target as HTMLInputElement).checked)} />
          </label>
        </div>
        {uploadError && <p class="error" role="alert" id="input-upload-error">{uploadError}</p>}
        <p class="hint">Uploads are preprocessed exactly as <code>convkit predict</code> does it: stretched to the model's
          input size with an antialiased bilinear resize, gray = 0.299 R + 0.587 G + 0.114 B, transparency over black.</p>
      </div>
      <div>
        <h3>What the model sees</h3>
        <canvas id="input-preview" class="pixelated" ref={previewRef} width={shape[2]} height={shape[1]}
          data-source={input?.source ?? ''} aria-label={input ? `the input after preprocessing: ${input.source}` : 'no input yet'} />
        <p id="input-source">{input ? <>{input.source}{labelName !== null && <> (true class: {labelName})</>}, {input.shape.join('x')}</> : 'Nothing yet: draw, upload, or click a test image in the Train tab.'}</p>
        {!model && <NoModelHint idPrefix="input" />}
        {model && <h3>Class probabilities <small>({model.name}, {model.origin})</small></h3>}
        {predictError && <p class="error" role="alert">{predictError}</p>}
        <ol id="input-probabilities" class="probabilities" aria-label="class probabilities, most likely first" data-source={result?.source ?? ''}>
          {ranked.map((r, rank) => (
            <li key={r.index} data-class={r.index} data-class-name={r.name} data-probability={r.p} class={rank < TOP_K ? 'top' : ''}>
              <span class="name">{r.name}</span>
              <span class="bar" aria-hidden="true"><span style={{ width: `${(100 * r.p).toFixed(2)}%` }} /></span>
              <span class="pct">{(100 * r.p).toFixed(1)}%</span>
            </li>
          ))}
        </ol>
      </div>
    </div>
  );
}
