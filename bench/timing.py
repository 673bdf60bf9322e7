"""Timing shared by the bench scripts."""

import statistics
import time


def median_seconds(fns, args, budget=0.3):
    """The median time of one call of each function in ``fns`` (a dict), from batches sized to take about a
    millisecond each, taken in rounds (one batch of each function a round, the order rotating): a drift of
    the machine's speed, or of its memory system for large outputs, then falls on every column alike, and
    the ratios stay honest when the medians move. ``budget`` is the seconds of timing per function."""
    inner = {}
    for name, fn in fns.items():
        fn(*args)
        start = time.perf_counter()
        fn(*args)
        inner[name] = max(1, int(1e-3 / max(time.perf_counter() - start, 1e-8)))
    samples = {name: [] for name in fns}
    order = list(fns)
    deadline = time.perf_counter() + budget * len(fns)
    rounds = 0
    while rounds < 5 or (time.perf_counter() < deadline and rounds < 200):
        for name in order[rounds % len(order):] + order[:rounds % len(order)]:
            fn, n = fns[name], inner[name]
            start = time.perf_counter()
            for _ in range(n):
                fn(*args)
            samples[name].append((time.perf_counter() - start) / n)
        rounds += 1
    return {name: statistics.median(s) for name, s in samples.items()}
