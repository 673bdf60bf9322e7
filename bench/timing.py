"""Timing shared by the bench scripts."""

import random
import statistics
import time


def median_seconds(fns, args, budget=0.3):
    """The median time of one call of each function in ``fns`` (a dict), from batches sized to take about a
    millisecond each, taken in rounds: one batch of each function a round, in a fresh random order each
    time. A drift of the machine's speed then falls on every column alike, and so does whatever a library
    leaves behind for the next call (JAX's worker threads, a freed block of memory): a fixed or rotating
    order would always hand it to the same neighbour. ``budget`` is the seconds of timing per function."""
    inner = {}
    for name, fn in fns.items():
        fn(*args)
        start = time.perf_counter()
        fn(*args)
        inner[name] = max(1, int(1e-3 / max(time.perf_counter() - start, 1e-8)))
    samples = {name: [] for name in fns}
    order = list(fns)
    shuffle = random.Random(0).shuffle
    deadline = time.perf_counter() + budget * len(fns)
    rounds = 0
    while rounds < 5 or (time.perf_counter() < deadline and rounds < 200):
        shuffle(order)
        for name in order:
            fn, n = fns[name], inner[name]
            start = time.perf_counter()
            for _ in range(n):
                fn(*args)
            samples[name].append((time.perf_counter() - start) / n)
        rounds += 1
    return {name: statistics.median(s) for name, s in samples.items()}
