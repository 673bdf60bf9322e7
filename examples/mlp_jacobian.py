"""The input Jacobian of a multilayer perceptron: jacrev and jacfwd, compiled, batched with vmap.

    python examples/mlp_jacobian.py                 a 6 -> 64 -> 64 -> 3 network, 256 inputs
    python examples/mlp_jacobian.py --batch 4096

``jacrev(mlp, argnums=1)(params, x)`` is the 3 x 6 matrix d mlp / d x at one input x: one reverse pass per
output, batched. ``jacfwd`` gives the same matrix with one forward pass per input. ``vmap`` over a batch of
inputs gives one matrix per input, and ``jit`` compiles it. The check is central differences.
"""

import argparse
import time

import numpy as np

import jaxlike
import jaxlike.numpy as jnp

SIZES = (6, 64, 64, 3)


def init(rng, sizes=SIZES):
    return [(rng.standard_normal((m, n)) / np.sqrt(n), 0.1 * rng.standard_normal(m))
            for n, m in zip(sizes[:-1], sizes[1:])]


def mlp(params, x):
    """tanh layers, then a linear one; x is one input vector."""
    for w, b in params[:-1]:
        x = jnp.tanh(w @ x + b)
    w, b = params[-1]
    return w @ x + b


def central_differences(f, x, eps=1e-6):
    return np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(len(x))], axis=-1)


def main(batch=256, verbose=True):
    rng = np.random.default_rng(0)
    params = init(rng)
    xs = rng.standard_normal((batch, SIZES[0]))

    jac_rev = jaxlike.jit(jaxlike.jacrev(mlp, argnums=1))
    jac_fwd = jaxlike.jit(jaxlike.jacfwd(mlp, argnums=1))
    one = jac_rev(params, xs[0])
    assert one.shape == (SIZES[-1], SIZES[0])
    numeric = central_differences(lambda x: mlp(params, x), xs[0])
    fd_error = float(np.max(np.abs(one - numeric)))
    modes_error = float(np.max(np.abs(one - jac_fwd(params, xs[0]))))

    batched = jaxlike.jit(jaxlike.vmap(jaxlike.jacrev(mlp, argnums=1), in_dims=(None, 0)))
    jacobians = batched(params, xs)  # (batch, 3, 6)
    start = time.perf_counter()
    batched(params, xs)
    seconds = time.perf_counter() - start
    loop_error = max(float(np.max(np.abs(jacobians[i] - jac_rev(params, xs[i])))) for i in range(0, batch, 17))
    if verbose:
        print(f"one Jacobian, {one.shape}:\n{np.array2string(one, precision=4)}")
        print(f"against central differences: {fd_error:.1e}; jacrev against jacfwd: {modes_error:.1e}")
        print(f"{batch} Jacobians {jacobians.shape} in one compiled call: {seconds * 1e3:.2f} ms "
              f"(differs from one at a time by {loop_error:.1e})")
    return {"jacobian": one, "fd_error": fd_error, "modes_error": modes_error, "jacobians": jacobians,
            "loop_error": loop_error}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="number of inputs (default 256)")
    main(parser.parse_args().batch)
