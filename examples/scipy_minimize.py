"""scipy.optimize.minimize with derivatives compiled by jaxlike: trust-exact with the Hessian, Newton-CG
with Hessian-vector products.

    python examples/scipy_minimize.py               logistic regression, 500 examples, 20 features
    python examples/scipy_minimize.py --d 200

The loss is L2-regularised logistic regression on a synthetic data set. SciPy asks for the loss, its
gradient and either its Hessian (trust-exact) or products of the Hessian with vectors (Newton-CG, which
never forms the matrix). jaxlike gives each as a compiled function of NumPy arrays:

    fun  = jit(loss)                    jac  = jit(grad(loss))
    hess = jit(hessian(loss))           hessp = jit(lambda w, v: jvp(grad(loss), (w,), (v,))[1])

The data set is closed over by ``loss``: it becomes a constant of the compiled code.
"""

import argparse

import numpy as np
from scipy.optimize import minimize

import jaxlike
import jaxlike.numpy as jnp


def make_loss(n=500, d=20, lam=1e-2, seed=0):
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(d)
    features = rng.standard_normal((n, d))
    labels = np.where(features @ w_true + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)

    def loss(w):
        margins = labels * (features @ w)
        return jnp.mean(jnp.logaddexp(0.0, -margins)) + 0.5 * lam * jnp.sum(w * w)  # log(1 + e^-m)

    return loss


def main(n=500, d=20, verbose=True):
    loss = make_loss(n, d)
    fun = jaxlike.jit(loss)
    jac = jaxlike.jit(jaxlike.grad(loss))
    hess = jaxlike.jit(jaxlike.hessian(loss))
    hessp = jaxlike.jit(lambda w, v: jaxlike.jvp(jaxlike.grad(loss), (w,), (v,))[1])
    w0 = np.zeros(d)
    exact = minimize(fun, w0, method="trust-exact", jac=jac, hess=hess, options={"gtol": 1e-10})
    cg = minimize(fun, w0, method="Newton-CG", jac=jac, hessp=hessp, options={"xtol": 1e-12})
    result = {"trust-exact": exact, "Newton-CG": cg,
              "difference": float(np.max(np.abs(exact.x - cg.x))),
              "grad_norm": float(np.linalg.norm(jac(exact.x)))}
    if verbose:
        for name in ("trust-exact", "Newton-CG"):
            r = result[name]
            print(f"{name:12s} loss {r.fun:.12f}  {r.nit:3d} iterations, {r.nfev} losses, {r.njev} gradients, "
                  f"{getattr(r, 'nhev', 0)} Hessians or products  ({r.message})")
        print(f"the two minimisers differ by {result['difference']:.1e}; |grad| = {result['grad_norm']:.1e}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="number of examples (default 500)")
    parser.add_argument("--d", type=int, default=20, help="number of features (default 20)")
    args = parser.parse_args()
    main(args.n, args.d)
