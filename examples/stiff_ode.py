"""A stiff ODE, Robertson's chemical kinetics, solved by scipy's BDF and Radau with a compiled Jacobian.

    python examples/stiff_ode.py                    integrate to t = 40
    python examples/stiff_ode.py --t 1e5

    y1' = -0.04 y1 + 1e4 y2 y3
    y2' =  0.04 y1 - 1e4 y2 y3 - 3e7 y2²
    y3' =  3e7 y2²

The rate constants span eleven orders of magnitude, so an explicit method needs steps of about 1e-4 all
the way; an implicit one (BDF, Radau) takes large steps but solves a linear system with the Jacobian
d f / d y at each step. Without ``jac``, SciPy estimates it by finite differences. With jaxlike it is
``jit(jacfwd(rhs, argnums=1))``: exact, compiled, and called as ``jac(t, y)`` as SciPy calls it. The
reference value y(40) = (0.7158271, 9.185535e-6, 0.2841637) is from Hairer and Wanner's test set.
"""

import argparse

import numpy as np
from scipy.integrate import solve_ivp

import jaxlike
import jaxlike.numpy as jnp


def robertson(t, y):
    y1, y2, y3 = y[0], y[1], y[2]
    return jnp.stack([-0.04 * y1 + 1e4 * y2 * y3,
                      0.04 * y1 - 1e4 * y2 * y3 - 3e7 * y2 ** 2,
                      3e7 * y2 ** 2])


def main(t_end=40.0, verbose=True):
    rhs = jaxlike.jit(robertson)
    jac = jaxlike.jit(jaxlike.jacfwd(robertson, argnums=1))
    y0 = np.array([1.0, 0.0, 0.0])
    result = {}
    for method in ("BDF", "Radau"):
        sol = solve_ivp(rhs, (0.0, t_end), y0, method=method, jac=jac, rtol=1e-8, atol=1e-12)
        assert sol.success, sol.message
        result[method] = sol
        if verbose:
            print(f"{method:5s} {len(sol.t) - 1:4d} steps, {sol.nfev:4d} right-hand sides, {sol.njev:3d} Jacobians, "
                  f"{sol.nlu:3d} LU factorisations: y({t_end:g}) = {sol.y[:, -1]}")
    y_end = result["BDF"].y[:, -1]
    eps = 1e-7 * np.maximum(np.abs(y_end), 1e-8)
    numeric = np.stack([(np.asarray(rhs(t_end, y_end + e)) - np.asarray(rhs(t_end, y_end - e))) / (2 * e[i])
                        for i, e in enumerate(np.diag(eps))], axis=1)
    result["y_end"] = y_end
    result["jac_error"] = float(np.max(np.abs(jac(t_end, y_end) - numeric) / (np.abs(numeric) + 1.0)))
    if verbose:
        print(f"y1 + y2 + y3 - 1 = {y_end.sum() - 1:.1e}")
        print(f"the Jacobian at t = {t_end:g}:\n{jac(t_end, y_end)}")
        print(f"its largest relative difference from central differences: {result['jac_error']:.1e}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t", type=float, default=40.0, help="final time (default 40)")
    main(parser.parse_args().t)
