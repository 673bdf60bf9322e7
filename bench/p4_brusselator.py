"""P4: the Jacobian of the 2D Brusselator RHS on a 32 x 32 periodic grid (2048 states, 12,288 non-zeros).

    python bench/p4_brusselator.py            the table (medians, ratios, first call)
    python bench/p4_brusselator.py --n 16     another grid size

Every implementation is checked against the hand-written analytic Jacobian in NumPy (always run) before it
is timed; numba versions run when numba is installed. ``p4()`` returns the problems in the format of
bench/problems.py (name, args, numpy, jaxlike, numba), so the bench runner can take them over as they are.

- sparse values: the 12,288 non-zeros in CSR order. jaxlike: ``jaxlike.sparse.jacobian(format='triplets',
  compiled=True)``; the hand-written versions fill a constant vector and overwrite the 4 x 1024 entries that
  depend on the state (the same work the jaxlike values graph ends up doing).
- sparse CSR: the same, as the scipy.sparse.csr_matrix that solve_ivp receives (jaxlike only; the
  hand-written reference builds it with SciPy's constructor).
- dense: the 2048 x 2048 matrix. jaxlike: ``jaxlike.sparse.jacobian(format='dense', compiled=True)`` (the
  sparse values scattered into zeros, in one compiled graph), and the generic ``jit(jacfwd(rhs))`` and
  ``jit(jacrev(rhs))``, which read the same pattern off the graph and run one jvp (vjp) per colour.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

import jaxlike  # noqa: E402
import jaxlike.numpy as jnp  # noqa: E402
import jaxlike.sparse  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_seconds  # noqa: E402  (bench/ is a folder of scripts)

try:
    import numba
except ImportError:
    numba = None

A, B, DIFFUSION = 3.4, 1.0, 10.0


def make_rhs(n):
    """The Brusselator right-hand side f(t, y), y = (u, v) on an n x n periodic grid, each row-major."""
    xs = np.linspace(0.0, 1.0, n)
    alpha = DIFFUSION * (n - 1) ** 2
    x, y = np.meshgrid(xs, xs, indexing="ij")
    disk = ((x - 0.3) ** 2 + (y - 0.6) ** 2 <= 0.1 ** 2).astype(np.float64)

    def laplacian(a):
        return (jnp.roll(a, 1, 0) + jnp.roll(a, -1, 0) + jnp.roll(a, 1, 1) + jnp.roll(a, -1, 1)
                - 4.0 * a)

    def rhs(t, state):
        u, v = state.reshape(2, n, n)
        forcing = jnp.where(t >= 1.1, 5.0, 0.0) * disk
        uuv = u * u * v
        du = alpha * laplacian(u) + B + uuv - (A + 1.0) * u + forcing
        dv = alpha * laplacian(v) + A * u - uuv
        return jnp.concatenate([du.ravel(), dv.ravel()])

    return rhs


def initial_state(n):
    xs = np.linspace(0.0, 1.0, n)
    x, y = np.meshgrid(xs, xs, indexing="ij")
    return np.concatenate([(22.0 * (y * (1.0 - y)) ** 1.5).ravel(), (27.0 * (x * (1.0 - x)) ** 1.5).ravel()])


# --------------------------------------------------------------------------------------------------
# The hand-written Jacobian: the pattern from the stencil, the values from the derivatives


def analytic(n):
    """(rows, cols, base, positions): the pattern in CSR order, the constant entries (the diffusion
    couplings) and, for each cell, where its four state-dependent entries sit: d(du)/du, d(du)/dv,
    d(dv)/du, d(dv)/dv."""
    cells = n * n
    alpha = DIFFUSION * (n - 1) ** 2
    i, j = np.divmod(np.arange(cells), n)
    neighbours = [((i + di) % n) * n + (j + dj) % n for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    p = np.arange(cells)
    rows, cols, vals, kinds = [], [], [], []
    for species in (0, 1):
        row = species * cells + p
        for nb in neighbours:  # diffusion within the species
            rows.append(row), cols.append(species * cells + nb)
            vals.append(np.full(cells, alpha)), kinds.append(np.full(cells, -1))
        rows.append(row), cols.append(species * cells + p)  # the diagonal
        vals.append(np.zeros(cells)), kinds.append(np.full(cells, 3 * species))
        rows.append(row), cols.append((1 - species) * cells + p)  # the other species
        vals.append(np.zeros(cells)), kinds.append(np.full(cells, 1 + species))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    vals, kinds = np.concatenate(vals), np.concatenate(kinds)
    order = np.lexsort((cols, rows))
    rows, cols, vals, kinds = rows[order], cols[order], vals[order], kinds[order]
    cell = rows % cells
    positions = np.empty((4, cells), np.int64)
    for k in range(4):
        where = np.flatnonzero(kinds == k)
        positions[k, cell[where]] = where
    return rows, cols, vals, positions


def numpy_values(n):
    _, _, base, pos = analytic(n)
    alpha = DIFFUSION * (n - 1) ** 2
    cells = n * n

    def values(t, y):
        u, v = y[:cells], y[cells:]
        uv2 = 2.0 * u * v
        uu = u * u
        out = base.copy()
        out[pos[0]] = uv2 - (A + 1.0) - 4.0 * alpha
        out[pos[1]] = uu
        out[pos[2]] = A - uv2
        out[pos[3]] = -uu - 4.0 * alpha
        return out
    return values


def numpy_csr(n):
    import scipy.sparse as sp
    rows, cols, _, _ = analytic(n)
    values = numpy_values(n)
    shape = (2 * n * n, 2 * n * n)
    return lambda t, y: sp.csr_matrix((values(t, y), (rows, cols)), shape=shape)


def numpy_dense(n):
    rows, cols, _, _ = analytic(n)
    values = numpy_values(n)

    def dense(t, y):
        out = np.zeros((2 * n * n, 2 * n * n))
        out[rows, cols] = values(t, y)
        return out
    return dense


def numba_values(n):
    _, _, base, pos = analytic(n)
    alpha = DIFFUSION * (n - 1) ** 2
    cells = n * n

    @numba.njit(cache=False)
    def fill(y, out):
        out[:] = base
        for p in range(cells):
            u = y[p]
            v = y[cells + p]
            out[pos[0, p]] = 2.0 * u * v - (A + 1.0) - 4.0 * alpha
            out[pos[1, p]] = u * u
            out[pos[2, p]] = A - 2.0 * u * v
            out[pos[3, p]] = -u * u - 4.0 * alpha
        return out

    def values(t, y):
        return fill(y, np.empty(base.shape[0]))
    return values


def numba_dense(n):
    rows, cols, _, _ = analytic(n)
    values = numba_values(n)

    @numba.njit(cache=False)
    def scatter(vals, out):
        for k in range(vals.shape[0]):
            out[rows[k], cols[k]] = vals[k]
        return out

    return lambda t, y: scatter(values(t, y), np.zeros((2 * n * n, 2 * n * n)))


# --------------------------------------------------------------------------------------------------
# The jaxlike versions


def jaxlike_values(n, compiled=True):
    jac = jaxlike.sparse.jacobian(make_rhs(n), argnums=1, format="triplets", compiled=compiled)
    return lambda t, y: jac(t, y)[2]


def jaxlike_csr(n):
    return jaxlike.sparse.jacobian(make_rhs(n), argnums=1, compiled=True)


def jaxlike_dense(n):
    return jaxlike.sparse.jacobian(make_rhs(n), argnums=1, format="dense", compiled=True)


def jaxlike_jacfwd(n):
    return jaxlike.jit(jaxlike.jacfwd(make_rhs(n), argnums=1))


def jaxlike_jacrev(n):
    return jaxlike.jit(jaxlike.jacrev(make_rhs(n), argnums=1))


def p4(n=32):
    """The problems, in the format of bench/problems.py."""
    t, y = np.asarray(0.0), initial_state(n)
    size = f"{n}x{n}, {2 * n * n} states"
    out = [dict(name=f"P4 Brusselator {size}: sparse values", args=(t, y), numpy=numpy_values(n),
                jaxlike=lambda: jaxlike_values(n)),
           dict(name=f"P4 Brusselator {size}: sparse values, interpreted", args=(t, y),
                numpy=numpy_values(n), jaxlike=lambda: jaxlike_values(n, compiled=False)),
           dict(name=f"P4 Brusselator {size}: scipy CSR", args=(t, y), numpy=numpy_csr(n),
                jaxlike=lambda: jaxlike_csr(n)),
           dict(name=f"P4 Brusselator {size}: dense", args=(t, y), numpy=numpy_dense(n),
                jaxlike=lambda: jaxlike_dense(n)),
           dict(name=f"P4 Brusselator {size}: dense by jit(jacfwd)", args=(t, y), numpy=numpy_dense(n),
                jaxlike=lambda: jaxlike_jacfwd(n)),
           dict(name=f"P4 Brusselator {size}: dense by jit(jacrev)", args=(t, y), numpy=numpy_dense(n),
                jaxlike=lambda: jaxlike_jacrev(n))]
    if numba:
        out[0]["numba"] = out[1]["numba"] = lambda: numba_values(n)
        out[3]["numba"] = out[4]["numba"] = out[5]["numba"] = lambda: numba_dense(n)
    return out


# --------------------------------------------------------------------------------------------------
# Checking


def as_array(x):
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x)


def first_call(index, n):
    """Build + trace + analyse + compile + first run of problem ``index`` in a fresh process: seconds, and
    the stages of the sparse analysis when there is one."""
    code = ("import sys, time, json; sys.path.insert(0, {d!r}); import p4_brusselator as b;"
            "p = b.p4({n})[{i}]; t = time.perf_counter(); f = p['jaxlike'](); f(*p['args']);"
            "s = time.perf_counter() - t; import jaxlike.sparse;"
            "print(json.dumps(s))").format(d=os.path.dirname(os.path.abspath(__file__)), i=index, n=n)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def stages(n):
    """The stages of the first call of the compiled sparse Jacobian (in this process: imports are warm)."""
    jac = jaxlike.sparse.jacobian(make_rhs(n), argnums=1, format="triplets", compiled=True)
    t, y = np.asarray(0.0), initial_state(n)
    jac(t, y)
    info = jac.sparsity(t, y)
    return info, jac.graph(t, y)


def fmt_us(seconds):
    return "-" if seconds is None else f"{seconds * 1e6:,.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="grid size (default 32)")
    parser.add_argument("--no-first-call", action="store_true", help="skip the fresh-process first calls")
    args = parser.parse_args(argv)
    rows = []
    for index, p in enumerate(p4(args.n)):
        want = as_array(p["numpy"](*p["args"]))
        row = {"name": p["name"], "numba": None}
        fns = {"numpy": p["numpy"]}
        for impl in ("numba", "jaxlike"):
            if impl in p:
                fns[impl] = p[impl]()
                got = as_array(fns[impl](*p["args"]))
                if not np.allclose(got, want, rtol=1e-12, atol=1e-9):
                    raise AssertionError(f"{p['name']}: {impl} disagrees with the reference")
        row.update(median_seconds(fns, p["args"]))
        row["first"] = None if args.no_first_call else first_call(index, args.n)
        rows.append(row)

    head = ("problem", "numpy µs", "numba µs", "jaxlike µs", "÷ numpy", "÷ numba", "first call s")
    lines = []
    for r in rows:
        lines.append((r["name"], fmt_us(r["numpy"]), fmt_us(r["numba"]), fmt_us(r["jaxlike"]),
                      f"{r['jaxlike'] / r['numpy']:.2f}",
                      "-" if r["numba"] is None else f"{r['jaxlike'] / r['numba']:.2f}",
                      "-" if r["first"] is None else f"{r['first']:.2f}"))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
    info, graph = stages(args.n)
    print()
    print(info)
    print("analysis stages (warm process): "
          + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in info.timings.items()))
    print(f"values graph: {len(graph.eqns)} equations")
    return rows


if __name__ == "__main__":
    main()
