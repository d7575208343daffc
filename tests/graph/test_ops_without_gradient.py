"""Ops without a gradient (indices, bitwise, logical, counting) are graph nodes: in a
graph they compute from the values fed, not from the examples used while building."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing as sj

FED = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 5.0]], np.float32)

CASES = {
    "sort": (lambda x: sj.sort(x, 1, descending=True).values, [[3, 2, 1], [5, 5, 0]]),
    "argsort": (lambda x: sj.argsort(x, 1), [[1, 2, 0], [0, 1, 2]]),
    "topk": (lambda x: sj.topk(x, 2).indices, [[0, 2], [1, 2]]),
    "cummax": (lambda x: sj.cummax(x, 1).indices, [[0, 0, 0], [0, 1, 2]]),
    "median": (lambda x: sj.median(x, 1).values, [2, 5]),
    "mode": (lambda x: sj.mode(x, 1).indices, [1, 2]),
    "count_nonzero": (lambda x: sj.count_nonzero(x, 1), [3, 2]),
    "floor_divide": (lambda x: x // 2.0, [[1, 0, 1], [0, 2, 2]]),
    "nonzero": (lambda x: sj.nonzero(x), [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2]]),
    "logical_and": (lambda x: sj.logical_and(x, x - 1), [[True, False, True], [False, True, True]]),
    "isfinite_all": (lambda x: sj.all(sj.isfinite(x), 1), [True, True]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_runs_on_the_fed_values(name: str) -> None:
    build, expected = CASES[name]
    graph = sj.Graph()
    with graph.as_default():
        x = sj.placeholder((None, 3), name="x")
        y = build(x)
    with sj.Session(graph) as session:
        np.testing.assert_array_equal(session.run(y, {x: FED}), expected)
