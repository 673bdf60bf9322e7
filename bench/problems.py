"""The benchmark problems. Each has a hand-written analytic reference in NumPy (always run), the jaxlike
version (compiled), and, when the packages are installed, numba, JAX and torch.func versions.

A problem is a dict: ``name``, ``args`` (a tuple of NumPy arrays), ``numpy`` (reference callable),
``jaxlike`` (a builder returning a callable: compiled on its first call), and optional ``numba``, ``jax``,
``torch`` builders returning callables. Every implementation is checked against the reference before it
is timed. The functions are written once against a NumPy-like module (``jaxlike.numpy``, ``jax.numpy`` or
``torch``), so every framework differentiates the same code; JAX runs in float64 like the others, and a
JAX or torch callable returns a NumPy array (JAX's asynchronous dispatch is waited for).
"""

import os

import numpy as np

import jaxlike
import jaxlike.numpy as jnp

ONLY = os.environ.get("BENCH_ONLY")  # one framework to import (a first-call process measures one)


def _optional(name):
    if ONLY is not None and ONLY != name:
        return None
    try:
        return __import__(name)
    except ImportError:
        return None


numba = _optional("numba")
jax = _optional("jax")
torch = _optional("torch")
if jax is not None:
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jaxnp
if torch is not None:
    import torch.func  # noqa: F401  (torch.func.jacfwd, jacrev, hessian, grad, vmap)

    torch.set_num_threads(1)


def _njit(fn):
    return numba.njit(cache=False, fastmath=False)(fn)


def _jax(transformed):
    """A jax.jit of transformed: NumPy arrays in, a NumPy array out (the call waits for the result)."""
    f = jax.jit(transformed)
    return lambda *args: np.asarray(f(*args))


def _torch(transformed):
    """transformed on torch tensors made from the NumPy arguments (no copy), a NumPy array out."""
    def call(*args):
        with torch.no_grad():
            return transformed(*[torch.from_numpy(a) for a in args]).numpy()
    return call


def _add_frameworks(problem, jaxlike_fn, transform):
    """The jax and torch builders of a problem whose jaxlike version is ``transform(ns, jaxlike_fn)``, for
    ns the namespace of transforms of each framework."""
    if jax is not None:
        problem["jax"] = lambda: _jax(transform(_JAX, jaxlike_fn(jaxnp)))
    if torch is not None:
        problem["torch"] = lambda: _torch(transform(_TORCH, jaxlike_fn(torch)))
    return problem


class _Transforms:
    def __init__(self, module):
        self.jacfwd, self.jacrev, self.hessian = module.jacfwd, module.jacrev, module.hessian
        self.grad, self.vmap = module.grad, module.vmap


_JAX = _Transforms(jax) if jax is not None else None
_TORCH = _Transforms(torch.func) if torch is not None else None
_JAXLIKE = _Transforms(jaxlike)


# P0: the call floor, y = 2x -----------------------------------------------------------------------

def p0():
    x = np.linspace(0.0, 1.0, 10)

    def ref(x):
        return 2.0 * x

    problem = dict(name="P0 call floor: y = 2x, n=10", args=(x,), numpy=ref,
                   jaxlike=lambda: jaxlike.jit(lambda x: 2.0 * x))
    if numba:
        problem["numba"] = lambda: _njit(ref)
    if jax is not None:
        problem["jax"] = lambda: _jax(lambda x: 2.0 * x)
    if torch is not None:
        problem["torch"] = lambda: _torch(lambda x: 2.0 * x)
    return [problem]


# P1: Rosenbrock n=10, gradient and Hessian ---------------------------------------------------------

def rosenbrock_in(np_):
    def rosenbrock(x):
        return np_.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return rosenbrock


rosenbrock = rosenbrock_in(jnp)


def rosen_grad(x):
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def rosen_hess(x):
    n = x.shape[0]
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        h[i, i + 1] = -400.0 * x[i]
        h[i + 1, i] = -400.0 * x[i]
        h[i + 1, i + 1] += 200.0
    return h


def p1(n=10):
    x = np.linspace(-1.2, 1.0, n)
    out = [dict(name=f"P1 Rosenbrock n={n}: grad", args=(x,), numpy=rosen_grad,
                jaxlike=lambda: jaxlike.jit(jaxlike.grad(rosenbrock))),
           dict(name=f"P1 Rosenbrock n={n}: hessian", args=(x,), numpy=rosen_hess,
                jaxlike=lambda: jaxlike.jit(jaxlike.hessian(rosenbrock)))]
    _add_frameworks(out[0], rosenbrock_in, lambda t, f: t.grad(f))
    _add_frameworks(out[1], rosenbrock_in, lambda t, f: t.hessian(f))
    if numba:
        out[0]["numba"] = lambda: _njit(rosen_grad)
        out[1]["numba"] = lambda: _njit(rosen_hess)
    return out


# P2: y = sin(x) exp(-x²) + x³, n=1000, dense Jacobian ----------------------------------------------

def p2_in(np_):
    def p2_f(x):
        return np_.sin(x) * np_.exp(-x * x) + x ** 3
    return p2_f


p2_f = p2_in(jnp)


def p2_jac(x):
    d = np.cos(x) * np.exp(-x * x) - 2.0 * x * np.sin(x) * np.exp(-x * x) + 3.0 * x * x
    return np.diag(d)


def p2(n=1000):
    x = np.linspace(-2.0, 2.0, n)
    out = [dict(name=f"P2 sin·exp+x³ n={n}: jacfwd", args=(x,), numpy=p2_jac,
                jaxlike=lambda: jaxlike.jit(jaxlike.jacfwd(p2_f))),
           dict(name=f"P2 sin·exp+x³ n={n}: jacrev", args=(x,), numpy=p2_jac,
                jaxlike=lambda: jaxlike.jit(jaxlike.jacrev(p2_f)))]
    _add_frameworks(out[0], p2_in, lambda t, f: t.jacfwd(f))
    _add_frameworks(out[1], p2_in, lambda t, f: t.jacrev(f))
    if numba:
        def p2_jac_loop(x):
            n = x.shape[0]
            j = np.zeros((n, n))
            for i in range(n):
                e = np.exp(-x[i] * x[i])
                j[i, i] = np.cos(x[i]) * e - 2.0 * x[i] * np.sin(x[i]) * e + 3.0 * x[i] * x[i]
            return j
        out[0]["numba"] = out[1]["numba"] = lambda: _njit(p2_jac_loop)
    return out


# P3: MLP 64 → 256 → 32 (tanh), the Jacobian w.r.t. the input ----------------------------------------

def p3(batch=1024):
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(256, 64)) / 8, rng.normal(size=256)
    w2, b2 = rng.normal(size=(32, 256)) / 16, rng.normal(size=32)
    x = rng.normal(size=64)
    xs = rng.normal(size=(batch, 64))

    def mlp_in(np_):
        if np_ is torch:
            t1, c1, t2, c2 = (torch.from_numpy(a) for a in (w1, b1, w2, b2))
        else:
            t1, c1, t2, c2 = w1, b1, w2, b2

        def mlp(x):
            return t2 @ np_.tanh(t1 @ x + c1) + c2
        return mlp

    mlp = mlp_in(jnp)

    def ref(x):
        h = np.tanh(w1 @ x + b1)
        return (w2 * (1 - h * h)) @ w1

    def ref_batch(xs):
        h = np.tanh(xs @ w1.T + b1)
        return np.einsum("oh,bh,hi->boi", w2, 1 - h * h, w1)

    out = [dict(name="P3 MLP 64→256→32: jacrev", args=(x,), numpy=ref,
                jaxlike=lambda: jaxlike.jit(jaxlike.jacrev(mlp))),
           dict(name=f"P3 MLP: vmap(jacrev) over {batch}", args=(xs,), numpy=ref_batch,
                jaxlike=lambda: jaxlike.jit(jaxlike.vmap(jaxlike.jacrev(mlp))))]
    _add_frameworks(out[0], mlp_in, lambda t, f: t.jacrev(f))
    _add_frameworks(out[1], mlp_in, lambda t, f: t.vmap(t.jacrev(f)))
    if numba:
        def nb_one(x, w1, b1, w2):
            h = np.tanh(w1 @ x + b1)
            return (w2 * (1 - h * h)) @ w1

        def nb_batch(xs, w1, b1, w2):
            out = np.empty((xs.shape[0], w2.shape[0], w1.shape[1]))
            for b in range(xs.shape[0]):
                h = np.tanh(w1 @ xs[b] + b1)
                out[b] = (w2 * (1 - h * h)) @ w1
            return out

        def one():
            f = _njit(nb_one)
            return lambda x: f(x, w1, b1, w2)

        def many():
            f = _njit(nb_batch)
            return lambda xs: f(xs, w1, b1, w2)
        out[0]["numba"], out[1]["numba"] = one, many
    return out


# P5: Hessian of a logistic-regression loss, X 200×50 -------------------------------------------------

def p5():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 50))
    y = (rng.random(200) < 0.5).astype(float)
    w = rng.normal(size=50) * 0.1

    def loss_in(np_):
        Xm, ym = (torch.from_numpy(X), torch.from_numpy(y)) if np_ is torch else (X, y)

        def loss(w):
            z = Xm @ w
            zero = torch.zeros_like(z) if np_ is torch else 0.0  # torch's logaddexp takes tensors only
            return np_.sum(np_.logaddexp(zero, z) - ym * z)
        return loss

    def ref(w):
        p = 1 / (1 + np.exp(-(X @ w)))
        return (X.T * (p * (1 - p))) @ X

    problem = dict(name="P5 logistic-regression Hessian, X 200×50", args=(w,), numpy=ref,
                   jaxlike=lambda: jaxlike.jit(jaxlike.hessian(loss_in(jnp))))
    _add_frameworks(problem, loss_in, lambda t, f: t.hessian(f))
    if numba:
        def nb(w, X):
            p = 1 / (1 + np.exp(-(X @ w)))
            return (X.T * (p * (1 - p))) @ X

        def build():
            g = _njit(nb)
            return lambda w: g(w, X)
        problem["numba"] = build
    return [problem]


# P6: Newton on extended Rosenbrock n=100: gradient + Hessian + solve per iteration ------------------

def _newton(grad, hess):
    return lambda x: x - np.linalg.solve(hess(x), grad(x))


def p6(n=100):
    x = np.linspace(-1.0, 1.0, n) * 0.5 + 0.5

    def build(ns, jitted):
        f = rosenbrock_in(jnp if ns is _JAXLIKE else jaxnp if ns is _JAX else torch)
        return lambda: _newton(jitted(ns.grad(f)), jitted(ns.hessian(f)))

    problem = dict(name=f"P6 Newton step, Rosenbrock n={n}", args=(x,), numpy=_newton(rosen_grad, rosen_hess),
                   jaxlike=build(_JAXLIKE, jaxlike.jit))
    if jax is not None:
        problem["jax"] = build(_JAX, _jax)
    if torch is not None:
        problem["torch"] = build(_TORCH, _torch)
    if numba:
        problem["numba"] = lambda: _newton(_njit(rosen_grad), _njit(rosen_hess))
    return [problem]


def all_problems():
    return p0() + p1() + p2() + p3() + p5() + p6()
