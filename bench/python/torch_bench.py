"""PyTorch peer: one benchmark cell. Run by bench/run.mjs with /usr/bin/python3 (Debian's python3-torch).

usage: torch_bench.py --model NAME --mode train|infer --seconds S --repeats R --warmup W --max-step M
       [--threads N] [--batch B]
       torch_bench.py --info      prints the version, thread count and the BLAS it is built with
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import bench_models  # noqa: E402
from timing import emit, measure  # noqa: E402


def blas_description() -> str:
    config = torch.__config__.show()
    blas = re.search(r'BLAS_INFO=([^,\s]+)', config)
    parts = [f"BLAS_INFO={blas.group(1) if blas else '?'}"]
    if torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled:
        parts.append('oneDNN (MKL-DNN) for convolutions')
    # Debian's 'generic' BLAS is whatever libblas.so.3 the alternatives system points to.
    link = '/etc/alternatives/libblas.so.3-x86_64-linux-gnu'
    if blas and blas.group(1) == 'generic' and os.path.exists(link):
        target = os.path.realpath(link)
        kind = 'OpenBLAS' if 'openblas' in target else 'BLIS' if 'blis' in target else 'reference BLAS (netlib)' if '/blas/' in target else target
        parts.append(f'libblas.so.3 -> {target} ({kind})')
    return '; '.join(parts)


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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.info:
        emit({'version': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_description()})
        return

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
