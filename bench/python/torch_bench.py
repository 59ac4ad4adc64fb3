"""PyTorch peer: one benchmark cell. Run by bench/run.mjs with /usr/bin/python3 (Debian's python3-torch).

usage: torch_bench.py --model NAME --mode train|infer --seconds S --repeats R --warmup W --max-step M
       [--threads N] [--batch B] [--expect-blas openblas]
       torch_bench.py --info      prints the version, the threads, the BLAS this process loaded (from
                                  /proc/self/maps) and torch.mm's GFLOPS at 1024^3

Run with LD_LIBRARY_PATH=<bench/openblas.mjs's folder> it calls OpenBLAS instead of Debian's default libblas.so.3;
--expect-blas openblas then checks that it does (OpenBLAS's OpenMP build mapped, OpenMP's threads = --threads).
"""
import argparse
import ctypes
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import bench_models  # noqa: E402
from timing import emit, measure  # noqa: E402


def loaded_libraries(fragment: str) -> list:
    """Paths of the shared libraries mapped into this process whose file name contains `fragment`."""
    with open('/proc/self/maps') as maps:
        paths = {line.split()[-1] for line in maps if '/' in line and fragment in line.rsplit('/', 1)[-1]}
    return sorted(paths)


def blas_kind(path: str) -> str:
    real = os.path.realpath(path)
    return 'OpenBLAS' if 'openblas' in real else 'BLIS' if 'blis' in real else 'reference BLAS (netlib)' if '/blas/' in real else real


def openblas_config() -> dict:
    """OpenBLAS's own report (version, build options, core kernels) when this process loaded it, else {}."""
    paths = loaded_libraries('libopenblas')
    if not paths:
        return {}
    lib = ctypes.CDLL(paths[0])
    lib.openblas_get_config.restype = ctypes.c_char_p
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return {'path': paths[0], 'config': lib.openblas_get_config().decode(), 'core': lib.openblas_get_corename().decode()}


def sgemm_speed(size: int = 1024) -> str:
    """torch.mm on two size x size float32 matrices: GFLOPS (median of 3 after a warm-up) and CPU-seconds per second
    (how many threads BLAS really ran, when the machine has cores to spare)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(3):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    cpu_per_second = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    return f'torch.mm {size}^3 {2 * size ** 3 / sorted(times)[1] / 1e9:.1f} GFLOPS, {cpu_per_second:.2f} CPU-s per s'



def omp_threads() -> int:
    match = re.search(r'omp_get_max_threads\(\) : (\d+)', torch.__config__.parallel_info())
    return int(match.group(1)) if match else -1


def blas_description(expect: str) -> str:
    """Which BLAS this process really calls, read from its own memory map (not from the build configuration)."""
    config = torch.__config__.show()
    blas = re.search(r'BLAS_INFO=([^,\s]+)', config)
    parts = [f"BLAS_INFO={blas.group(1) if blas else '?'}"]
    if torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled:
        parts.append('oneDNN (MKL-DNN) for convolutions')
    for path in loaded_libraries('libblas.so'):
        parts.append(f'loaded {path} ({blas_kind(path)})')
    openblas = openblas_config()
    if openblas:
        parts.append(f"{openblas['config']}, core {openblas['core']}")
    parts.append(f'OpenMP threads {omp_threads()}' + (' (OpenBLAS follows them)' if openblas else ''))
    check_blas(expect)
    return '; '.join(parts)


def check_blas(expect: str) -> None:
    """With --expect-blas openblas, refuse to run unless OpenBLAS's OpenMP build is mapped and OpenMP runs torch's threads."""
    if expect != 'openblas':
        return
    openblas = openblas_config()
    if not openblas:
        loaded = ', '.join(loaded_libraries('libblas.so')) or 'no libblas.so'
        sys.exit(f'error: PyTorch + OpenBLAS: this process loaded {loaded}, not OpenBLAS '
                 f"(LD_LIBRARY_PATH={os.environ.get('LD_LIBRARY_PATH', '')!r}; bench/openblas.mjs unpacks it)")
    # The OpenMP build asks OpenMP for its threads at every call (openblas_get_num_threads() keeps reporting the
    # count it started with: with torch.set_num_threads(1) it says 2 while a 1024^3 product uses 1.00 CPU-s per s).
    if 'USE_OPENMP' not in openblas['config']:
        sys.exit(f"error: PyTorch + OpenBLAS: {openblas['path']} is not OpenBLAS's OpenMP build ({openblas['config']})")
    if omp_threads() != torch.get_num_threads():
        sys.exit(f'error: PyTorch + OpenBLAS: OpenMP runs {omp_threads()} threads, torch {torch.get_num_threads()}')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--info', action='store_true')
    parser.add_argument('--model')
    parser.add_argument('--mode', choices=['train', 'infer'])
    parser.add_argument('--seconds', type=float, default=10)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=float, default=2)
    parser.add_argument('--max-step', type=float, default=30)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch', type=int)
    parser.add_argument('--expect-blas', choices=['any', 'openblas'], default='any',
                        help='openblas: fail unless this process really calls OpenBLAS with the given threads')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.info:
        blas = blas_description(args.expect_blas)
        emit({'version': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas,
              'detail': sgemm_speed()})
        return
    check_blas(args.expect_blas)

    torch.manual_seed(0)
    model = bench_models.create(args.model)
    shape = bench_models.INPUT_SHAPES[args.model]
    batch = args.batch or (bench_models.TRAIN_BATCH[args.model] if args.mode == 'train' else 256)
    x_full = torch.randn(batch, *shape)
    y_full = torch.randint(0, 10, (batch,))

    if args.mode == 'train':
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step(n: int) -> None:
            loss = loss_fn(model(x_full[:n]), y_full[:n])
            opt.zero_grad()
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step(n: int) -> None:
            with torch.no_grad():
                model(x_full[:n])

    result = measure(step, batch, args.seconds, args.repeats, args.warmup, args.max_step)
    emit({'batch': batch, 'threads': torch.get_num_threads(), **result})


if __name__ == '__main__':
    main()
