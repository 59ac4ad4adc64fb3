"""Export the four benchmark models to ONNX for the onnxruntime-node peer (inference only).

usage: /usr/bin/python3 bench/python/export_onnx.py [OUT_DIR]     (default: bench/onnx)

Weights are PyTorch's default initialisation with seed 0 (the values do not matter for speed). Eval mode,
a dynamic batch axis, opset 13; BatchNorm stays a node (onnxruntime fuses it into the conv).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import bench_models  # noqa: E402


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'onnx')
    os.makedirs(out_dir, exist_ok=True)
    for name, shape in bench_models.INPUT_SHAPES.items():
        torch.manual_seed(0)
        model = bench_models.create(name).eval()
        path = os.path.join(out_dir, f'{name}.onnx')
        torch.onnx.export(model, torch.randn(1, *shape), path, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13,
                          do_constant_folding=True)
        print(f'{path}: {os.path.getsize(path):,} bytes')


if __name__ == '__main__':
    main()
