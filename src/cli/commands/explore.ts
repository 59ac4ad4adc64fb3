/** `convkit explore`: serve the explorer (the browser app) from the installed package, cross-origin isolated. */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { defineCommand } from '../command.js';
import { UsageError } from '../errors.js';
import { intOption, stringOption } from '../options.js';
import { BUILT_APP_DIR, servedCheckpoint, startExplorerServer } from '../../node/explorerServer.js';

export default defineCommand({
  name: 'explore',
  order: 45,
  summary: 'open the explorer in your browser: train, test and look inside a CNN (serves the app locally)',
  usage: 'convkit explore [--port N] [--host ADDR] [--checkpoint DIR]',
  description:
    'Serves the explorer with the headers that let it use several threads (cross-origin isolation), the embedded ' +
    'Fashion-MNIST subset, the full Fashion-MNIST / MNIST files found on this machine (see convkit datasets; nothing ' +
    'is downloaded) and, with --checkpoint, a model the page loads at start. Runs until Ctrl-C.',
  options: {
    port: { type: 'string', valueName: 'N', description: 'port to listen on (0: any free port)', defaultText: '8080' },
    host: { type: 'string', valueName: 'ADDR', description: 'address to listen on (0.0.0.0 shares the page on your network)', defaultText: '127.0.0.1' },
    checkpoint: { type: 'string', valueName: 'DIR', description: 'checkpoint folder (or a run folder: its best/ is used, or a .tar) for the page to load' },
    app: { type: 'string', valueName: 'DIR', description: 'serve another build of the app (node scripts/build-web.mjs DIR)', defaultText: 'the package\'s dist/web' },
  },
  examples: ['convkit explore', 'convkit explore --checkpoint runs/lenet5 --port 8090'],
  async run({ args, out, err, env, cwd }) {
    const v = args.values;
    const port = intOption(v, 'port', 8080, { min: 0, max: 65535 });
    const host = stringOption(v, 'host') ?? '127.0.0.1';
    const appArg = stringOption(v, 'app');
    const appDir = appArg !== undefined ? resolve(cwd, appArg) : BUILT_APP_DIR;
    if (!existsSync(join(appDir, 'index.html')) || !existsSync(join(appDir, 'explorer.js'))) {
      throw new UsageError(appArg !== undefined
        ? `--app ${appArg}: no built explorer there (index.html and explorer.js); build one with node scripts/build-web.mjs ${appArg}`
        : `the built explorer is missing (${appDir}); run \`npm run build\` in the convkit folder`);
    }
    const checkpointArg = stringOption(v, 'checkpoint');
    let checkpoint = null;
    if (checkpointArg !== undefined) {
      try {
        checkpoint = await servedCheckpoint(checkpointArg, cwd);
      } catch (e) {
        // A checkpoint the page could not load stops here, before anything is served.
        throw new UsageError((e as Error).message.replace(/^checkpoint: /, `--checkpoint ${checkpointArg}: `));
      }
    }
    let server;
    try {
      server = await startExplorerServer({ appDir, host, port, checkpoint, env });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new UsageError(`--port ${port}: already in use on ${host}; pick another (--port 0 takes any free port)`);
      if (code === 'EACCES') throw new UsageError(`--port ${port}: not allowed (ports below 1024 need privileges); pick a port from 1024 to 65535`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new UsageError(`--host ${host}: not an address of this machine (${code})`);
      throw e;
    }
    const shown = (p: string): string => (relative(cwd, p).startsWith('..') ? p : relative(cwd, p) || '.');
    err.write(`convkit explore: serving ${shown(appDir)} cross-origin isolated (COOP/COEP), so the page can use several threads\n`);
    err.write(`  /data/        embedded Fashion-MNIST subset (2,000 train / 1,000 test)\n`);
    if (server.datasets.length) {
      for (const d of server.datasets) err.write(`  /datasets/    ${d.name} (${d.train.toLocaleString('en-US')} / ${d.test.toLocaleString('en-US')}, ${d.source}: ${d.location})\n`);
    } else {
      err.write('  /datasets/    no full Fashion-MNIST or MNIST on this machine (see convkit datasets); the page trains on the subset\n');
    }
    if (server.checkpoint) err.write(`  /checkpoint/  ${server.checkpoint.model}, epoch ${server.checkpoint.epoch}, from ${shown(server.checkpoint.origin)} (loaded by the page)\n`);
    if (host === '0.0.0.0' || host === '::') err.write(`note: --host ${host} serves the page to your network too\n`);
    out.write(`${server.url}\n`);
    err.write('Open that address in a browser; Ctrl-C stops the server.\n');
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    err.write('convkit explore: stopped\n');
    return 0;
  },
});
