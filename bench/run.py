"""Run the benchmarks and print a table of medians, ratios to the hand-written numba version measured side
by side in one run, the first-call time (trace + compile + first run, in a fresh process) of jaxlike and of
JAX, and jaxlike's peak memory. Columns for numba, JAX and torch.func appear when they are installed.

    python bench/run.py              all problems (P0-P6)
    python bench/run.py P1 P3        the problems whose name starts with these (P4: bench/p4_brusselator.py)
    python bench/run.py --markdown   the table as Markdown (for docs/performance.md)
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread each, so the columns compare like with like
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # JAX too

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import problems  # noqa: E402  (bench/ is a folder of scripts, not a package)
from timing import median_seconds  # noqa: E402

IMPLS = ("numba", "jax", "torch", "jaxlike")


def check(name, impl, got, want):
    got = got.toarray() if hasattr(got, "toarray") else np.asarray(got)
    if not np.allclose(got, want, rtol=1e-6, atol=1e-8):
        err = np.max(np.abs(got - np.asarray(want)))
        raise AssertionError(f"{name}: {impl} disagrees with the reference (max abs error {err:.3g})")


def all_problems(only):
    out = problems.all_problems()
    if any(o.startswith("P4") for o in only):
        import p4_brusselator
        out += p4_brusselator.p4()
    return out


def first_calls(name, impls, only, repeat=5):
    """Build + trace + compile + first run of each implementation of a problem, in a fresh process (its
    imports done before the clock starts, the compiler's too: ``import jax`` loads XLA, and jaxlike loads
    LLVM on its first compile unless imported as here): {impl: (seconds, peak resident MiB of the process)},
    the median of ``repeat`` processes each, taken in turns so a drift of the machine falls on all alike
    (one process alone can be 20% off either way).

    The peak is the process's VmHWM: ``getrusage``'s ru_maxrss would carry over this parent's peak."""
    runs = {impl: [] for impl in impls}
    for _ in range(repeat):
        for impl in impls:
            runs[impl].append(_first_call_once(name, impl, only))
    return {impl: sorted(r)[len(r) // 2] for impl, r in runs.items()}


def _first_call_once(name, impl, only):
    code = (
        "import sys, time, json; sys.path.insert(0, {d!r}); import run; run.import_compiler({impl!r});"
        "p = next(p for p in run.all_problems({only!r}) if p['name'] == {name!r});"
        "t = time.perf_counter(); f = p[{impl!r}](); f(*p['args']);"
        "print(json.dumps([time.perf_counter() - t, run.peak_mib()]))"
    ).format(d=HERE, only=list(only), name=name, impl=impl)
    env = dict(os.environ, BENCH_ONLY=impl)  # only this framework imported: its peak memory alone
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_compiler(impl):
    if impl == "jaxlike":
        import jaxlike.codegen  # noqa: F401  (LLVM, the target machine, the external symbols)


def peak_mib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))


def import_seconds(impl):
    """Seconds to import a framework and its compiler in a fresh process."""
    module = {"jaxlike": "jaxlike, jaxlike.numpy, jaxlike.codegen", "jax": "jax, jax.numpy",
              "torch": "torch, torch.func", "numba": "numba"}[impl]
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def checkout():
    """The commit jaxlike runs from, and a check that jaxlike, jaxlike.ir and jaxlike.codegen are one
    checkout (an editable install of another clone can map the subpackages elsewhere)."""
    import jaxlike
    import jaxlike.codegen
    import jaxlike.ir
    roots = {os.path.dirname(os.path.dirname(os.path.abspath(m.__file__)))
             for m in (jaxlike, jaxlike.ir, jaxlike.codegen)}
    if len(roots) != 1:
        raise RuntimeError(f"jaxlike, jaxlike.ir and jaxlike.codegen come from different checkouts {roots}: "
                           "reinstall with pip install -e . from one of them")
    try:
        commit = subprocess.run(["git", "-C", roots.pop(), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(jaxlike.__file__)), "status",
                                "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
        return commit + ("+changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"


def compile_bytecode():
    """Write jaxlike's bytecode (__pycache__), as pip does for a package it installs: an editable install
    under PYTHONDONTWRITEBYTECODE would otherwise compile every module from source in each fresh process
    the first-call and import columns time (200 ms), while JAX and torch load theirs from disk."""
    import compileall

    import jaxlike
    import jaxlike.codegen
    import jaxlike.ir
    for module in (jaxlike, jaxlike.ir, jaxlike.codegen):
        compileall.compile_dir(os.path.dirname(module.__file__), quiet=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="problem name prefixes (P0, P1, ...)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds of timing per implementation")
    parser.add_argument("--no-first-call", action="store_true", help="skip the fresh-process first calls")
    args = parser.parse_args(argv)
    commit = checkout()
    compile_bytecode()

    rows = []
    for p in all_problems(args.only):
        if args.only and not any(p["name"].startswith(o) for o in args.only):
            continue
        want = p["numpy"](*p["args"])
        row = {"name": p["name"]}
        fns = {"numpy": p["numpy"]}
        for impl in IMPLS:
            if impl in p:
                fns[impl] = p[impl]()
                check(p["name"], impl, fns[impl](*p["args"]), want)
        row.update(median_seconds(fns, p["args"], args.budget))
        if not args.no_first_call:
            firsts = first_calls(p["name"], ["jaxlike"] + (["jax"] if "jax" in p else []), args.only)
            row["first_call"], row["peak_mib"] = firsts["jaxlike"]
            if "jax" in firsts:
                row["jax_first_call"] = firsts["jax"][0]
        rows.append(row)
        print(_line(row), file=sys.stderr, flush=True)

    imports = {impl: import_seconds(impl) for impl in ("jaxlike", "numba", "jax", "torch")
               if impl == "jaxlike" or getattr(problems, impl) is not None}
    print(_table(rows, args.markdown, commit, imports))
    return 0


def _us(t):
    return f"{t * 1e6:,.2f}" if t is not None else "—"


def _ms(t):
    return f"{t * 1e3:.0f}" if t is not None else "—"


def _ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def _line(row):
    return f"{row['name']}: " + ", ".join(f"{k} {_us(row.get(k))} µs" for k in ("numpy",) + IMPLS if k in row)


def _table(rows, markdown, commit, imports):
    impls = [i for i in ("numba", "jax", "torch") if any(i in r for r in rows)]
    header = (["problem", "NumPy µs"] + [f"{i} µs" for i in impls]
              + ["jaxlike µs", "jaxlike / numba", "jaxlike / NumPy"]
              + (["jaxlike / JAX"] if "jax" in impls else []) + ["first call ms"]
              + (["JAX first call ms"] if "jax" in impls else []) + ["peak MiB"])
    body = []
    for r in rows:
        jl = r.get("jaxlike")
        line = [r["name"], _us(r["numpy"])] + [_us(r.get(i)) for i in impls]
        line += [_us(jl), _ratio(jl, r.get("numba")), _ratio(jl, r["numpy"])]
        if "jax" in impls:
            line.append(_ratio(jl, r.get("jax")))
        line.append(_ms(r.get("first_call")))
        if "jax" in impls:
            line.append(_ms(r.get("jax_first_call")))
        line.append(f"{r['peak_mib']:.0f}" if "peak_mib" in r else "—")
        body.append(line)
    versions = [f"NumPy {np.__version__}"] + [
        f"{name} {module.__version__}" for name, module in
        (("numba", problems.numba), ("JAX", problems.jax), ("torch", problems.torch)) if module is not None]
    machine = (f"{platform.machine()} ({_cpu_name()}), {os.cpu_count()} cores, "
               f"Python {platform.python_version()}, {', '.join(versions)}; jaxlike at {commit}. Import time (fresh process, not in the first "
               "calls): " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in imports.items()))
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines) + f"\n\nMachine: {machine}."
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header)] + [fmt.format(*row) for row in body] + [f"Machine: {machine}."])


def _cpu_name():
    """The CPU's model name and LLVM's name for it (what jaxlike compiles for)."""
    import llvmlite.binding as llvm
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        model = platform.processor()
    return ", ".join(x for x in (model, llvm.get_host_cpu_name()) if x)


if __name__ == "__main__":
    sys.exit(main())
