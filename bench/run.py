"""Run the benchmarks and print a table of medians, ratios to the hand-written reference measured side by
side in one run, the first-call time (trace + compile + first run, in a fresh process) and peak memory.

    python bench/run.py              all problems
    python bench/run.py P1 P3        the problems whose name starts with these
    python bench/run.py --markdown   the table as Markdown (for docs/performance.md)
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread each, so the columns compare like with like

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import problems  # noqa: E402  (bench/ is a folder of scripts, not a package)


def median_seconds(fn, args, budget=0.3):
    """The median time of one call, from batches sized to take about a millisecond each."""
    fn(*args)
    start = time.perf_counter()
    fn(*args)
    once = max(time.perf_counter() - start, 1e-8)
    inner = max(1, int(1e-3 / once))
    samples = []
    deadline = time.perf_counter() + budget
    while len(samples) < 5 or (time.perf_counter() < deadline and len(samples) < 200):
        start = time.perf_counter()
        for _ in range(inner):
            fn(*args)
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def check(name, impl, got, want):
    if not np.allclose(got, want, rtol=1e-6, atol=1e-8):
        err = np.max(np.abs(np.asarray(got) - np.asarray(want)))
        raise AssertionError(f"{name}: {impl} disagrees with the reference (max abs error {err:.3g})")


def first_call(index):
    """Trace + compile + first run of problem ``index`` in a fresh process; (seconds, peak RSS MiB)."""
    code = (
        "import sys, time, resource, json; sys.path.insert(0, {d!r}); import problems;"
        "p = problems.all_problems()[{i}]; t = time.perf_counter(); f = p['jaxlike'](); f(*p['args']);"
        "print(json.dumps([time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))"
    ).format(d=os.path.dirname(os.path.abspath(__file__)), i=index)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="problem name prefixes (P0, P1, ...)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds of timing per implementation")
    args = parser.parse_args(argv)

    rows = []
    for index, p in enumerate(problems.all_problems()):
        if args.only and not any(p["name"].startswith(o) for o in args.only):
            continue
        want = p["numpy"](*p["args"])
        row = {"name": p["name"]}
        row["numpy"] = median_seconds(p["numpy"], p["args"], args.budget)
        for impl in ("numba", "jaxlike"):
            if impl in p:
                fn = p[impl]()
                check(p["name"], impl, fn(*p["args"]), want)
                row[impl] = median_seconds(fn, p["args"], args.budget)
        row["first_call"], row["peak_mib"] = first_call(index)
        rows.append(row)
        print(_line(row), file=sys.stderr, flush=True)

    print(_table(rows, args.markdown))
    return 0


def _us(t):
    return f"{t * 1e6:,.2f}" if t is not None else "—"


def _line(row):
    return f"{row['name']}: " + ", ".join(f"{k} {_us(row.get(k))} µs" for k in ("numpy", "numba", "jaxlike"))


def _table(rows, markdown):
    header = ["problem", "NumPy µs", "numba µs", "jaxlike µs", "jaxlike / numba", "jaxlike / NumPy",
              "first call ms", "peak MiB"]
    body = []
    for r in rows:
        nb, jl = r.get("numba"), r.get("jaxlike")
        body.append([r["name"], _us(r["numpy"]), _us(nb), _us(jl),
                     f"{jl / nb:.2f}×" if nb and jl else "—", f"{jl / r['numpy']:.2f}×" if jl else "—",
                     f"{r['first_call'] * 1e3:.0f}", f"{r['peak_mib']:.0f}"])
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"NumPy {np.__version__}" + (f", numba {problems.numba.__version__}" if problems.numba else
                                             ", numba not installed"))
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines) + f"\n\nMachine: {machine}."
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header)] + [fmt.format(*row) for row in body] + [f"Machine: {machine}."])


if __name__ == "__main__":
    sys.exit(main())
