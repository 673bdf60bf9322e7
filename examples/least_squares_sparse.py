"""The Bratu problem −∇²u = λ eᵘ on the unit square (u = 0 on the boundary), solved by
``scipy.optimize.least_squares`` with a sparse Jacobian from jaxlike and the LSMR trust-region solver.

    python examples/least_squares_sparse.py                   a 40 x 40 interior grid (1600 unknowns), λ = 1
    python examples/least_squares_sparse.py --n 64 --lam 6    a 64 x 64 grid, λ = 6 (the fold is at 6.81)

The residual is the five-point discretisation, written with a frame of zeros (the boundary) and slicing. Its
Jacobian has five non-zeros per row; jaxlike finds them on the graph, colours the columns with 5 colours
(the optimum, (i + 2j) mod 5) and evaluates them with 5 jvps, where finite differences without a pattern
would need one residual evaluation per unknown. least_squares(tr_solver='lsmr') only multiplies by the Jacobian and its transpose,
so the sparse matrix is used as it is.
"""

import argparse
import time

import numpy as np
from scipy.optimize import least_squares

import jaxlike
import jaxlike.numpy as jnp
import jaxlike.sparse


def make_residual(n, lam):
    """The residual r(u) of the n x n interior unknowns u (flattened), scaled by h² so that r = O(1)."""
    h = 1.0 / (n + 1)

    def with_boundary(a):
        """a surrounded by a frame of zeros (the boundary values)."""
        column = jnp.zeros((n, 1))
        row = jnp.zeros((1, n + 2))
        return jnp.concatenate([row, jnp.concatenate([column, a, column], axis=1), row], axis=0)

    def residual(u):
        grid = with_boundary(u.reshape(n, n))
        centre = grid[1:-1, 1:-1]
        laplacian = (grid[:-2, 1:-1] + grid[2:, 1:-1] + grid[1:-1, :-2] + grid[1:-1, 2:] - 4.0 * centre)
        return (laplacian + h * h * lam * jnp.exp(centre)).ravel()

    return residual


def main(n=40, lam=1.0, verbose=True):
    """Solve on an n x n interior grid; returns a dict of the figures printed."""
    residual = make_residual(n, lam)
    fun = jaxlike.jit(residual)
    jac = jaxlike.sparse.jacobian(residual, compiled=True)
    u0 = np.zeros(n * n)
    info = jaxlike.sparse.sparsity_pattern(residual)(u0)
    start = time.perf_counter()
    sol = least_squares(fun, u0, jac=jac, method="trf", tr_solver="lsmr", xtol=1e-12, ftol=1e-12,
                        gtol=1e-12)
    seconds = time.perf_counter() - start
    u = sol.x.reshape(n, n)
    result = dict(success=bool(sol.success), unknowns=n * n, nnz=info.nnz, colors=info.n_colors,
                  mode=info.mode, cost=float(sol.cost), nfev=int(sol.nfev), njev=int(sol.njev),
                  u_max=float(u.max()), u_centre=float(_centre(u)), seconds=seconds)
    if verbose:
        print(info)
        print(f"Bratu λ={lam} on {n}x{n}: cost {result['cost']:.3e}, {result['nfev']} residuals, "
              f"{result['njev']} Jacobians, {seconds:.2f} s")
        print(f"max u = {result['u_max']:.6f}, u(1/2, 1/2) = {result['u_centre']:.6f}")
    return result


def _centre(u):
    """u at the centre of the square (the mean of the four nearest points when n is even)."""
    n = u.shape[0]
    mid = n // 2
    return u[mid, mid] if n % 2 else u[mid - 1:mid + 1, mid - 1:mid + 1].mean()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="interior grid size (default 40)")
    parser.add_argument("--lam", type=float, default=1.0, help="λ (default 1)")
    args = parser.parse_args()
    main(args.n, args.lam)
