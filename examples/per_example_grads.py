"""Per-example gradients with vmap(grad(...)), compiled, used for gradient clipping as in DP-SGD.

    python examples/per_example_grads.py            a batch of 64 examples, a 2-layer network
    python examples/per_example_grads.py --batch 1024

``grad(loss)(params, x, y)`` is the gradient for one example. ``vmap`` maps it over the batch axis of ``x``
and ``y`` while ``params`` stays shared (``in_dims=(None, 0, 0)``): the result has the structure of
``params`` (a dict) with a leading batch axis on every leaf. ``jit`` compiles the whole thing once. The
check at the end is the plain Python loop over the examples.
"""

import argparse

import numpy as np

import jaxlike
import jaxlike.numpy as jnp


def init(rng, d_in=8, d_hidden=16):
    return {"w1": rng.standard_normal((d_hidden, d_in)) / np.sqrt(d_in), "b1": np.zeros(d_hidden),
            "w2": rng.standard_normal(d_hidden) / np.sqrt(d_hidden), "b2": np.zeros(())}


def loss(params, x, y):
    """Squared error of a one-hidden-layer network on one example (x: [d_in], y: a scalar)."""
    hidden = jnp.tanh(params["w1"] @ x + params["b1"])
    return (params["w2"] @ hidden + params["b2"] - y) ** 2


def clipped_mean(grads, max_norm=5.0):
    """Each example's gradient scaled to norm at most max_norm, then averaged (the DP-SGD update)."""
    norms = np.sqrt(sum(np.sum(g.reshape(len(g), -1) ** 2, axis=1) for g in grads.values()))
    scale = np.minimum(1.0, max_norm / np.maximum(norms, 1e-12))
    return {k: np.tensordot(scale, g, axes=1) / len(scale) for k, g in grads.items()}, norms


def main(batch=64, verbose=True):
    rng = np.random.default_rng(0)
    params = init(rng)
    x = rng.standard_normal((batch, 8))
    y = np.sin(x.sum(axis=1))
    per_example = jaxlike.jit(jaxlike.vmap(jaxlike.grad(loss), in_dims=(None, 0, 0)))
    grads = per_example(params, x, y)
    update, norms = clipped_mean(grads)
    one_grad = jaxlike.jit(jaxlike.grad(loss))
    loop = [one_grad(params, x[i], y[i]) for i in range(batch)]
    error = max(float(np.max(np.abs(grads[k][i] - loop[i][k]))) for k in params for i in range(batch))
    if verbose:
        print({k: g.shape for k, g in grads.items()})
        print(f"per-example gradient norms: min {norms.min():.3f}, median {np.median(norms):.3f}, "
              f"max {norms.max():.3f}; {int(np.sum(norms > 5.0))} of {batch} clipped to 5")
        print(f"largest difference from a loop over the examples: {error:.1e}")
    return {"grads": grads, "update": update, "norms": norms, "error": error}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    main(parser.parse_args().batch)
