"""Newton's method on the extended Rosenbrock function, with a compiled gradient and a compiled Hessian.

    python examples/rosenbrock_newton.py            n = 10, from x = (-1, -1, ..., -1)
    python examples/rosenbrock_newton.py --n 100

The loop is ordinary NumPy: jaxlike only supplies ``grad`` and ``hess``, two compiled functions that take an
array and return an array. Each is traced and compiled once, on the first call; every later call runs
machine code. Newton's step solves H p = -g; where H is not positive definite (far from the minimum the
valley bends) the step adds a multiple of the identity, and a backtracking line search keeps each step
downhill.
"""

import argparse

import numpy as np

import jaxlike
import jaxlike.numpy as jnp


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def newton(f, grad, hess, x, tol=1e-8, max_steps=200):
    """Damped Newton; returns the minimiser and the gradient norm of every iterate."""
    norms = []
    for _ in range(max_steps):
        g = grad(x)
        norms.append(float(np.linalg.norm(g)))
        if norms[-1] < tol:
            break
        h = hess(x)
        shift = 0.0
        while True:  # H + shift·I must be positive definite for the step to go downhill
            try:
                chol = np.linalg.cholesky(h + shift * np.eye(len(x)))
                break
            except np.linalg.LinAlgError:
                shift = max(2 * shift, 1e-3 * np.abs(h).max())
        p = -np.linalg.solve(chol.T, np.linalg.solve(chol, g))
        t, fx, slope = 1.0, f(x), g @ p
        while f(x + t * p) > fx + 1e-4 * t * slope and t > 1e-12:  # backtracking (Armijo)
            t /= 2
        x = x + t * p
    return x, norms


def main(n=10, verbose=True):
    f = jaxlike.jit(rosenbrock)
    grad = jaxlike.jit(jaxlike.grad(rosenbrock))
    hess = jaxlike.jit(jaxlike.hessian(rosenbrock))
    x0 = -np.ones(n)
    x, norms = newton(f, grad, hess, x0)
    if verbose:
        for i, g in enumerate(norms):
            print(f"step {i:3d}   |grad f| = {g:.3e}")
        print(f"f = {float(f(x)):.3e} after {len(norms) - 1} Newton steps at x = "
              f"{np.array2string(x, precision=8)}")
    return {"x": x, "steps": len(norms) - 1, "grad_norm": norms[-1], "f": float(f(x))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="number of variables (default 10)")
    main(parser.parse_args().n)
