"""The 2D Brusselator reaction–diffusion system, integrated with SciPy's BDF method and a sparse Jacobian.

    python examples/brusselator_bdf.py                 32 x 32 periodic grid, 2048 states, t in [0, 11.5]
    python examples/brusselator_bdf.py --n 16 --t 2    a 16 x 16 grid up to t = 2
    python examples/brusselator_bdf.py --n 8 --spy docs/sparse_brusselator.svg
                                                       only draw the pattern and its colouring

The right-hand side is written once, with jnp slicing stencils (jnp.roll). jaxlike reads the Jacobian's
sparsity off its graph (12,288 non-zeros of 2048² for the 32 x 32 grid: five for the Laplacian and one for
the other species in each row), colours its columns and evaluates the non-zeros with one batched jvp per
colour. ``solve_ivp(method='BDF', jac=...)`` receives a scipy.sparse matrix and factorises it sparsely.

The problem is the stiff benchmark of the SciML suite: u' = 1 + u²v − 4.4u + α∇²u + f(x, y, t),
v' = 3.4u − u²v + α∇²v, α = 10/Δx², with a forcing disk switched on at t = 1.1.
"""

import argparse
import time

import numpy as np
from scipy.integrate import solve_ivp

import jaxlike
import jaxlike.numpy as jnp
import jaxlike.sparse

A, B, DIFFUSION = 3.4, 1.0, 10.0


def make_rhs(n):
    """The right-hand side f(t, y) on an n x n periodic grid; y holds u then v, each row-major."""
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
    u = 22.0 * (y * (1.0 - y)) ** 1.5
    v = 27.0 * (x * (1.0 - x)) ** 1.5
    return np.concatenate([u.ravel(), v.ravel()])


def main(n=32, t_end=11.5, rtol=1e-6, atol=1e-8, verbose=True):
    """Integrate on an n x n grid up to t_end; returns a dict of the figures printed."""
    rhs = make_rhs(n)
    y0 = initial_state(n)
    fun = jaxlike.jit(rhs)
    jac = jaxlike.sparse.jacobian(rhs, argnums=1, compiled=True)
    info = jaxlike.sparse.sparsity_pattern(rhs, argnums=1)(0.0, y0)
    start = time.perf_counter()
    sol = solve_ivp(fun, (0.0, t_end), y0, method="BDF", jac=jac, rtol=rtol, atol=atol)
    seconds = time.perf_counter() - start
    u_end = sol.y[:n * n, -1].reshape(n, n)
    result = dict(success=bool(sol.success), states=2 * n * n, nnz=info.nnz, colors=info.n_colors,
                  mode=info.mode, steps=len(sol.t) - 1, nfev=int(sol.nfev), njev=int(sol.njev),
                  nlu=int(sol.nlu), u_mean=float(u_end.mean()), u_max=float(u_end.max()),
                  y_end=sol.y[:, -1], seconds=seconds)
    if verbose:
        print(info)
        print(f"BDF on {n}x{n} ({2 * n * n} states), t in [0, {t_end}]: {result['steps']} steps, "
              f"{result['nfev']} RHS calls, {result['njev']} Jacobians, {result['nlu']} LU factorisations, "
              f"{seconds:.2f} s")
        print(f"u at t = {t_end}: mean {result['u_mean']:.6f}, max {result['u_max']:.6f}")
    return result


def spy(n, path):
    """Draw the Jacobian pattern of the n x n problem, coloured by column group, to path (.svg or .png)."""
    info = jaxlike.sparse.sparsity_pattern(make_rhs(n), argnums=1)(0.0, initial_state(n))
    return info.spy(path, title=f"Brusselator {n}x{n}: {info.shape[0]}x{info.shape[1]}, {info.nnz} "
                                f"non-zeros, {info.n_colors} colours")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="grid size (default 32)")
    parser.add_argument("--t", type=float, default=11.5, help="end time (default 11.5)")
    parser.add_argument("--spy", metavar="PATH", help="only draw the pattern and its colouring to PATH")
    args = parser.parse_args()
    if args.spy:
        print(spy(args.n, args.spy))
    else:
        main(args.n, args.t)
