"""The timing protocol, the same as bench/lib/timing.mjs (keep the two in step).

A cell is one (peer, model, mode). `step(n)` runs one training step (or one inference pass) on a fixed
batch of n examples and returns when the result is computed.

1. Probe: one cold step at a small batch (min(batch, 8)). If it predicts a full-batch step within max_step
   seconds, go to 3. Otherwise time a second small step: if that one predicts a full-batch step within
   max_step too (the cold step was slow for one-off reasons), go to 3.
2. Otherwise the cell is an *estimate*: steps at the small batch, timed from the second step on, until
   `seconds` have passed (at least that one step); the note says so.
3. Warm-up at the full batch for at least `warmup` seconds (and at least 2 steps), then `repeats` timed
   runs, each as many whole steps as fit in `seconds` (at least one). The figure is the median images/s.
"""
import json
import statistics
import time


def measure(step, batch, seconds, repeats, warmup, max_step):
    probe_batch = min(batch, 8)

    def predict(step_seconds):
        return step_seconds * batch / probe_batch

    t0 = time.perf_counter()
    step(probe_batch)
    if predict(time.perf_counter() - t0) > max_step:
        count, t0 = 0, time.perf_counter()
        while True:
            step(probe_batch)
            count += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds or predict(elapsed / count) <= max_step:
                break
        predicted = predict(elapsed / count)
        if predicted > max_step:
            ips = count * probe_batch / elapsed
            return {'imagesPerSec': ips, 'runs': [ips], 'measuredBatch': probe_batch, 'steps': count, 'estimate': True,
                    'note': f"a batch-{batch} step would take ~{predicted:.0f} s: timed {count} step{'' if count == 1 else 's'} at batch {probe_batch} instead"}
    t0, count = time.perf_counter(), 0
    while count < 2 or time.perf_counter() - t0 < warmup:
        step(batch)
        count += 1
    runs, steps, timed = [], 0, 0.0
    cpu0 = time.process_time()
    for _ in range(repeats):
        count, t0 = 0, time.perf_counter()
        while True:
            step(batch)
            count += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
        runs.append(count * batch / elapsed)
        steps += count
        timed += elapsed
    # CPU seconds of this process (all threads) over the timed runs; see timing.mjs.
    return {'imagesPerSec': statistics.median(runs), 'runs': runs, 'measuredBatch': batch, 'steps': steps, 'estimate': False,
            'wallSeconds': timed, 'cpuSeconds': time.process_time() - cpu0}


def emit(result):
    print('BENCH_RESULT ' + json.dumps(result), flush=True)
