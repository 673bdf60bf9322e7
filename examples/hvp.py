"""Hessian-vector products as forward-over-reverse, jvp of grad, checked against the dense Hessian.

    python examples/hvp.py                          n = 200
    python examples/hvp.py --n 2000

``hvp(x, v) = jvp(grad(f), (x,), (v,))[1]`` is H(x) v at the cost of about two gradients, without ever
forming the n x n matrix H. Compiled, it is what Newton-CG, trust-region Krylov solvers and Lanczos
iterations need. The check is ``hessian(f)(x) @ v``; the graphs show the difference in size: the
Hessian's outputs hold n² numbers, the product's n.
"""

import argparse
import time

import numpy as np

import jaxlike
import jaxlike.numpy as jnp


def energy(x):
    """A chain of springs with a quartic term: a sparse, nonlinear Hessian."""
    stretch = x[1:] - x[:-1]
    return jnp.sum(0.5 * stretch ** 2 + 0.25 * stretch ** 4) + jnp.sum(jnp.cos(x))


def hvp(f):
    """x, v -> H(x) v, forward mode (jvp) over reverse mode (grad)."""
    return lambda x, v: jaxlike.jvp(jaxlike.grad(f), (x,), (v,))[1]


def per_call(fn, *args, repeat=200):
    fn(*args)
    start = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - start) / repeat


def main(n=200, verbose=True):
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal(n), rng.standard_normal(n)
    product = jaxlike.jit(hvp(energy))
    hessian = jaxlike.jit(jaxlike.hessian(energy))
    hv = product(x, v)
    dense = hessian(x) @ v
    error = float(np.max(np.abs(hv - dense)))
    eager_error = float(np.max(np.abs(hvp(energy)(x, v) - dense)))  # the same, interpreted
    sizes = {"hvp": product.lower(x, v).graph, "hessian": hessian.lower(x).graph}
    result = {"hv": hv, "error": error, "eager_error": eager_error,
              "equations": {k: len(g.eqns) for k, g in sizes.items()},
              "seconds": {"hvp": per_call(product, x, v), "hessian then @": per_call(lambda: hessian(x) @ v)}}
    if verbose:
        print(f"n = {n}: |H v - hessian(x) @ v| = {error:.1e} (compiled), {eager_error:.1e} (interpreted)")
        for name, graph in sizes.items():
            print(f"{name:8s} {len(graph.eqns):3d} equations, outputs {[str(o.aval) for o in graph.outputs]}")
        for name, seconds in result["seconds"].items():
            print(f"{name:15s} {seconds * 1e6:9.1f} µs per call")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of variables (default 200)")
    main(parser.parse_args().n)
