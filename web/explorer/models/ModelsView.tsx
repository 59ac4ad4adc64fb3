/**
 * "Models in and out": load a checkpoint written by `convkit train` (drop the folder or its files, pick them, or
 * let the page take the one `convkit explore --checkpoint DIR` serves at /checkpoint/), show what the engine's
 * model is, evaluate it, and download it as a .tar that `convkit eval/predict --checkpoint` read.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../app.js';
import type { ModelInfo } from '../engine/protocol.js';
import type { DownloadedFile, ModelFile, ModelSummary } from './protocol.js';

/** The only files of a dropped folder worth reading (a run folder also holds reports and pictures). */
const WANTED = /(^|\/)(checkpoint\.json|model\.safetensors|optimizer\.safetensors)$|\.tar$/i;

/** A file the user gave, with its path inside what they gave (a dropped folder keeps its structure). */
interface PickedFile { path: string; file: File }

/** Every file below a dropped directory entry (readEntries answers in chunks until it returns none). */
async function filesOfEntry(entry: FileSystemEntry): Promise<PickedFile[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    return [{ path: entry.fullPath.replace(/^\/+/, ''), file }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: PickedFile[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) out.push(...(await filesOfEntry(child)));
  }
  return out;
}

async function droppedFiles(transfer: DataTransfer): Promise<PickedFile[]> {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.length > 0 && entries.every((e) => e !== null)) {
    const nested = await Promise.all(entries.map((e) => filesOfEntry(e!)));
    return nested.flat();
  }
  return [...transfer.files].map((file) => ({ path: file.name, file }));
}

function inputFiles(list: FileList | null): PickedFile[] {
  return [...(list ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** Where `picked` came from, for the model's origin line. */
function describePick(picked: readonly PickedFile[], how: string): string {
  const top = [...new Set(picked.map((p) => p.path.split('/')[0]!))];
  return `${how} ${top.length <= 3 ? top.join(', ') : `${top.slice(0, 2).join(', ')} and ${top.length - 2} more`}`;
}

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

export function ModelsView(_props: { active?: boolean }) {
  const app = useApp();
  const [error, setError] = useState<string | null>(null);
  const [notes, setNotes] = useState<string[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [download, setDownload] = useState<{ fileName: string; bytes: number; files: DownloadedFile[]; version: number } | null>(null);
  const [evaluation, setEvaluation] = useState<{ accuracy: number; loss: number; count: number; correct: number; dataset: string; version: number } | null>(null);
  // The page's model counter: every load bumps it so the other tabs re-query the engine.
  const version = useRef(0);
  version.current = Math.max(version.current, app.model?.version ?? 0);

  const publish = useCallback((model: ModelSummary) => {
    version.current += 1;
    const info: ModelInfo = { ...model, version: version.current };
    app.setModel(info);
  }, [app]);

  const loadFiles = useCallback(async (files: ModelFile[], origin: string) => {
    setError(null);
    setNotes([]);
    setBusy('loading the checkpoint...');
    try {
      const transfer = files.map((f) => f.bytes.buffer as ArrayBuffer);
      const result = await app.client.call('models.load', { files, origin }, transfer);
      publish(result.model);
      setNotes(result.notes);
      setDownload(null);
      setEvaluation(null);
      app.setStatus(`loaded ${result.model.name} (${result.model.epochs} epoch${result.model.epochs === 1 ? '' : 's'}) from ${origin}`);
    } catch (e) {
      setError(`Could not load ${origin}: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  }, [app, publish]);

  const loadPicked = useCallback(async (picked: PickedFile[], how: string) => {
    const wanted = picked.filter((p) => WANTED.test(p.path));
    if (wanted.length === 0) {
      setError(picked.length === 0
        ? 'Nothing was dropped or chosen.'
        : `None of ${picked.slice(0, 3).map((p) => p.path).join(', ')}${picked.length > 3 ? ', ...' : ''} is a checkpoint file: choose the folder convkit train wrote (checkpoint.json, model.safetensors, optimizer.safetensors), or its .tar.`);
      return;
    }
    const files = await Promise.all(wanted.map(async (p) => ({ path: p.path, bytes: new Uint8Array(await p.file.arrayBuffer()) })));
    await loadFiles(files, describePick(picked, how));
  }, [loadFiles]);

  // The checkpoint `convkit explore --checkpoint DIR` serves, once the engine is up. Its index.json names the
  // files; a plain static server without one still works when it has /checkpoint/checkpoint.json.
  const autoLoaded = useRef(false);
  useEffect(() => {
    if (!app.engine || autoLoaded.current) return;
    autoLoaded.current = true;
    void (async () => {
      let urls: Record<string, string>;
      let origin = 'server /checkpoint/';
      const index = await fetch('./checkpoint/index.json').catch(() => null);
      if (index?.ok) {
        const body = (await index.json()) as { origin?: string; files?: Record<string, string> };
        urls = body.files ?? {};
        if (body.origin) origin = `server ${body.origin}`;
      } else {
        const probe = await fetch('./checkpoint/checkpoint.json', { method: 'HEAD' }).catch(() => null);
        if (!probe?.ok) return; // no checkpoint served: nothing to load
        urls = Object.fromEntries(['checkpoint.json', 'model.safetensors', 'optimizer.safetensors'].map((n) => [n, `./checkpoint/${n}`]));
      }
      const files: ModelFile[] = [];
      for (const [name, url] of Object.entries(urls)) {
        const response = await fetch(url);
        if (response.status === 404 && name === 'optimizer.safetensors') continue;
        if (!response.ok) {
          setError(`Could not load the server's checkpoint: ${url} answered HTTP ${response.status}`);
          return;
        }
        files.push({ path: name, bytes: new Uint8Array(await response.arrayBuffer()) });
      }
      await loadFiles(files, origin);
    })();
  }, [app.engine, loadFiles]);

  const onDownload = useCallback(async () => {
    setError(null);
    setBusy('writing the checkpoint...');
    try {
      const result = await app.client.call('models.download', {});
      const url = URL.createObjectURL(new Blob([result.tar as Uint8Array<ArrayBuffer>], { type: 'application/x-tar' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = result.fileName;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setDownload({ fileName: result.fileName, bytes: result.tar.length, files: result.files, version: app.model?.version ?? 0 });
    } catch (e) {
      setError(`Could not download the model: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  }, [app]);

  const onEvaluate = useCallback(async () => {
    setError(null);
    setBusy('evaluating on the test set...');
    try {
      const result = await app.client.call('models.evaluate', {});
      setEvaluation({ ...result, version: app.model?.version ?? 0 });
    } catch (e) {
      setError(`Could not evaluate the model: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  }, [app]);

  const model = app.model;
  // Results of an earlier model (before a load or a training step) are not shown as this one's.
  const fresh = evaluation && model && evaluation.version === model.version ? evaluation : null;
  const saved = download && model && download.version === model.version ? download : null;
  return (
    <div class="models" data-busy={busy ? 'true' : 'false'}>
      <h2>Load a checkpoint</h2>
      <p class="note">
        A folder written by <code>convkit train</code> (or its <code>best/</code> or <code>last/</code>), or a{' '}
        <code>.tar</code> downloaded from this page. Files are checked against the sizes and SHA-256 in{' '}
        <code>checkpoint.json</code>; nothing leaves your computer.
      </p>
      <div id="models-drop" class={dragging ? 'drop-zone dragging' : 'drop-zone'} role="region" aria-label="Drop a checkpoint folder or its files here"
        style={{ border: '2px dashed #888', padding: '1.2em', borderRadius: '6px', background: dragging ? '#eef4ff' : undefined }}
        onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((picked) => loadPicked(picked, 'dropped'), (err: Error) => setError(`Could not read the dropped files: ${err.message}`));
        }}>
        Drop a checkpoint folder, its files or a <code>.tar</code> here, or choose:
        <div class="controls">
          <label>Files <input id="models-files" type="file" multiple accept=".json,.safetensors,.tar"
            onChange={(e) => { const t = e.currentTarget; void loadPicked(inputFiles(t.files), 'files').then(() => { t.value = ''; }); }} /></label>
          <label>Folder <input id="models-folder" type="file" {...{ webkitdirectory: true }}
            onChange={(e) => { const t = e.currentTarget; void loadPicked(inputFiles(t.files), 'folder').then(() => { t.value = ''; }); }} /></label>
        </div>
      </div>
      {busy && <p class="note" role="status">{busy}</p>}
      {error && <p id="models-error" class="error" role="alert">{error}</p>}
      {notes.map((n) => <p class="note" key={n}>{n}</p>)}

      <h2>The model in the engine</h2>
      {!model && <p id="models-none" class="note">No model yet: train one in the Train tab or load a checkpoint above.</p>}
      {model && (
        <table id="models-current" data-name={model.name} data-origin={model.origin} data-classes={model.classNames.join('|')}
          data-input-shape={model.inputShape.join('x')} data-normalization={model.normalization ? JSON.stringify(model.normalization) : 'none'}
          data-epochs={model.epochs} data-accuracy={model.testAccuracy ?? ''} data-parameters={model.parameters} data-version={model.version}>
          <tbody>
            <tr><th scope="row">Model</th><td>{model.name}</td></tr>
            <tr><th scope="row">From</th><td style={{ overflowWrap: 'anywhere' }}>{model.origin}</td></tr>
            <tr><th scope="row">Classes ({model.classNames.length})</th><td>{model.classNames.join(', ')}</td></tr>
            <tr><th scope="row">Input</th><td>{model.inputShape.join(' x ')} (channels x height x width)</td></tr>
            <tr><th scope="row">Normalisation</th><td>{model.normalization
              ? `(x - ${model.normalization.mean.map((m) => m.toFixed(4)).join(', ')}) / ${model.normalization.std.map((s) => s.toFixed(4)).join(', ')}`
              : 'none (pixels in [0, 1])'}</td></tr>
            <tr><th scope="row">Epochs</th><td>{model.epochs}</td></tr>
            <tr><th scope="row">Last test accuracy</th><td>{model.testAccuracy === null ? 'not evaluated' : percent(model.testAccuracy)}</td></tr>
            <tr><th scope="row">Parameters</th><td>{model.parameters.toLocaleString('en-US')}</td></tr>
          </tbody>
        </table>
      )}

      {model && (
        <div class="controls">
          <button id="models-evaluate" type="button" disabled={busy !== null} onClick={() => void onEvaluate()}>Evaluate on the test set</button>
          <button id="models-download" type="button" disabled={busy !== null} onClick={() => void onDownload()}>Download checkpoint (.tar)</button>
        </div>
      )}
      {fresh && (
        <p id="models-evaluation" data-accuracy={fresh.accuracy} data-loss={fresh.loss} data-count={fresh.count} data-correct={fresh.correct}>
          Test accuracy {percent(fresh.accuracy)} ({fresh.correct.toLocaleString('en-US')} of {fresh.count.toLocaleString('en-US')}),
          mean loss {fresh.loss.toFixed(4)} on {fresh.dataset}. <code>convkit eval --checkpoint</code> on the download gives the same.
        </p>
      )}
      {saved && (
        <div id="models-downloaded" data-file={saved.fileName} data-bytes={saved.bytes}>
          <p>
            Saved <code>{saved.fileName}</code> ({kib(saved.bytes)}): a folder of {saved.files.length} files. Use it as it is,
            <code> npx convkit eval --checkpoint {saved.fileName}</code>, or unpack it with <code>tar -xf {saved.fileName}</code>.
          </p>
          <div class="scroll-x"><table>
            <thead><tr><th>file</th><th>bytes</th><th>SHA-256 (also in checkpoint.json)</th></tr></thead>
            <tbody>{saved.files.filter((f) => f.name !== 'checkpoint.json').map((f) => (
              <tr key={f.name} data-file={f.name} data-sha256={f.sha256}><td>{f.name}</td><td>{f.bytes.toLocaleString('en-US')}</td><td><code>{f.sha256}</code></td></tr>
            ))}</tbody>
          </table></div>
        </div>
      )}
    </div>
  );
}
