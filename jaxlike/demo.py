"""The demo: trace a function, print its IR at each stage, compile its gradient and Hessian, and run
Newton's method with them, timed against NumPy. Run it with ``python -m jaxlike demo``."""

import time

import numpy as np

import jaxlike
import jaxlike.numpy as jnp


def rosenbrock(x):
    """The extended Rosenbrock function: a curved valley whose Hessian is tridiagonal."""
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad_numpy(x):
    """The gradient written by hand, the way one would without jaxlike."""
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def _heading(text):
    print(f"\n== {text} " + "=" * max(0, 76 - len(text)))


def _per_call(fn, *args, repeat=2000):
    fn(*args)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def newton(grad_fn, hess_fn, x, steps=50, tol=1e-10):
    """Newton's method with a backtracking-free damped step; returns the iterates' gradient norms."""
    norms = []
    for _ in range(steps):
        g = grad_fn(x)
        norms.append(float(np.linalg.norm(g)))
        if norms[-1] < tol:
            break
        x = x - np.linalg.solve(hess_fn(x), g)
    return x, norms


def main(n=8, out=print):
    x0 = np.zeros(n)

    _heading(f"1. traced IR of rosenbrock(x: f64[{n}])")
    out(jaxlike.make_ir(rosenbrock)(x0))

    _heading("2. the gradient, as a graph (jvp → partial eval → transpose → simplify)")
    grad = jaxlike.grad(rosenbrock)
    out(jaxlike.make_ir(grad)(x0))

    _heading("3. optimised IR of the compiled gradient")
    grad_jit = jaxlike.jit(grad)
    lowered = grad_jit.lower(x0)
    out(lowered.as_text())

    _heading("4. LLVM IR of the compiled gradient (first lines)")
    compiled = lowered.compile()
    llvm_lines = compiled.llvm_ir().splitlines()
    out("\n".join(llvm_lines[:24]) + f"\n... ({len(llvm_lines)} lines in all)")

    _heading("5. Newton's method with the compiled gradient and Hessian")
    hess_jit = jaxlike.jit(jaxlike.hessian(rosenbrock))
    x, norms = newton(grad_jit, hess_jit, x0)
    for i, nrm in enumerate(norms):
        out(f"   iteration {i:2d}   |grad| = {nrm:.3e}")
    out(f"   minimum at x = {np.array2string(x, precision=6)}  (exact: all ones)")

    _heading("6. cost of one gradient call")
    t_jit = _per_call(grad_jit, x0)
    t_np = _per_call(rosenbrock_grad_numpy, x0)
    t_interp = _per_call(grad, x0, repeat=20)
    out(f"   jaxlike compiled       {t_jit * 1e6:9.2f} µs")
    out(f"   NumPy, written by hand {t_np * 1e6:9.2f} µs")
    out(f"   jaxlike interpreted    {t_interp * 1e6:9.2f} µs   (trace + passes + NumPy, every call)")
    assert np.allclose(grad_jit(x0), rosenbrock_grad_numpy(x0))
    return x, norms


if __name__ == "__main__":
    main()
