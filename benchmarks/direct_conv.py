"""Direct convolution (shenjing/ops/_numba_conv.py) against im2col + GEMM (ops/conv.py) for
LeNet-5's two convolutions, batch 64 and batch 1: what decides ``direct_fits``.

    taskset -c 0 python -m benchmarks.direct_conv

Each line: forward (no bias) and the weight gradient (for the im2col op: its backward with
the input gradient off, as for a first layer), in ms of CPU time, median of 7 rounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from shenjing.ops._numba_conv import DirectConvolution
from shenjing.ops.conv import Convolution

LAYERS = {"conv1": (1, 28, 6, 2), "conv2": (6, 14, 16, 0)}  # C_in, H, C_out, padding


def _ms(fn: Callable[[], object], count: int = 10) -> float:
    fn()
    rounds = []
    for _ in range(7):
        start = time.process_time()
        for _ in range(count):
            fn()
        rounds.append((time.process_time() - start) / count * 1e3)
    return float(np.median(rounds))


def main() -> None:
    print(f"load: {os.getloadavg()}")
    rng = np.random.default_rng(0)
    for batch in (64, 1):
        for name, (c, h, k, pad) in LAYERS.items():
            x = rng.standard_normal((batch, c, h, h), dtype=np.float32)
            w = rng.standard_normal((k, c, 5, 5), dtype=np.float32)
            params = {"stride": (1, 1), "padding": ((pad, pad), (pad, pad)),
                      "dilation": (1, 1), "groups": 1}
            times = {}
            for label, cls in (("im2col", Convolution), ("direct", DirectConvolution)):
                op = cls()
                op.needs_input_grad = (False, True)
                y = op.forward(x, w, **params)
                gy = np.ascontiguousarray(
                    rng.standard_normal(y.shape, dtype=np.float32).transpose(1, 2, 3, 0)
                ).transpose(3, 0, 1, 2)  # batch-innermost, as the layer above hands it
                times[label] = (_ms(lambda op=op, x=x, w=w, p=params: op.forward(x, w, **p)),
                                _ms(lambda op=op, gy=gy: op.backward(gy)))
            (f_i, b_i), (f_d, b_d) = times["im2col"], times["direct"]
            print(f"{name} batch {batch}: forward im2col {f_i:.3f} direct {f_d:.3f}; "
                  f"weight gradient im2col {b_i:.3f} direct {b_d:.3f}")


if __name__ == "__main__":
    main()
