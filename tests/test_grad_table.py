"""Every differentiable primitive and every differentiable jnp function, to second order, in both modes.

The op tables drive ``jaxlike.testing.check_grads(order=2, modes=("fwd", "rev"))``: prim_cases.py (cases with
``derivative == "fd"``, in the modes their ``skip`` allows) and numpy_cases.py (cases with ``differentiable``,
differentiated in ``argnums``).
Both tables hold float64 and float32 cases of several shapes, rank 0 and broadcasting among them. Step and
tolerances follow the least precise dtype among a case's inputs and outputs (a float64 -> float32 convert is
differenced at float32 resolution).
"""

import numpy as np
import pytest

import numpy_cases
import prim_cases
from jaxlike import tree
from jaxlike.testing import EPS, TOLERANCE, check_grads

TEST = "test_grad_table"  # the key a case's ``known`` uses to mark a known bug of this test


def _least_precise(dtypes):
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind == "f"]
    return min(floats, key=lambda d: d.itemsize) if floats else np.dtype(np.float64)


def _options(dtypes):
    dt = _least_precise(dtypes)
    atol, rtol = TOLERANCE[dt]
    return dict(atol=atol, rtol=rtol, eps=EPS[dt])


def _params(cases):
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.known[TEST], strict=True)]
                         if TEST in getattr(c, "known", {}) else []) for c in cases]


def _modes(case):
    """The modes a primitive case can be differentiated in: its ``skip`` names the checks that do not
    apply by design (a custom_vjp function has no forward mode, an unbounded while no reverse mode)."""
    skip = getattr(case, "skip", {})
    if "impl" in skip or TEST in skip:
        pytest.skip(skip.get(TEST) or skip["impl"])
    modes = tuple(m for m, check in (("fwd", "jvp"), ("rev", "vjp")) if check not in skip)
    if not modes:
        pytest.skip("; ".join(sorted({skip["jvp"], skip["vjp"]})))
    return modes


PRIM_CASES = [c for c in prim_cases.CASES if c.derivative == "fd"]
NUMPY_CASES = [c for c in numpy_cases.CASES if c.differentiable]


@pytest.mark.parametrize("case", _params(PRIM_CASES))
def test_primitive_second_order(case):
    def f(*xs):
        return case.prim.bind(*xs, **case.params)
    f.__qualname__ = case.id
    dtypes = [a.dtype for a in case.in_avals] + [a.dtype for a in case.out_avals()]
    check_grads(f, case.make_args(), order=2, modes=_modes(case), **_options(dtypes))


@pytest.mark.parametrize("case", _params(NUMPY_CASES))
def test_numpy_second_order(case):
    args = case.args()

    def f(*diff):  # the arguments in argnums vary; the others are held fixed
        full = list(args)
        for i, x in zip(case.argnums, diff, strict=True):
            full[i] = x
        return case.fn(*full, **case.kwargs)
    f.__qualname__ = case.id
    diff_args = tuple(args[i] for i in case.argnums)
    out = f(*diff_args)
    dtypes = [np.asarray(x).dtype for x in tree.leaves(diff_args) + tree.leaves(out)]
    check_grads(f, diff_args, order=2, modes=("fwd", "rev"), **_options(dtypes))


def test_the_tables_cover_float32_float64_rank0_and_broadcasting():
    ids = [c.id for c in PRIM_CASES] + [c.id for c in NUMPY_CASES]
    assert any("-f32-" in i for i in ids) and any("-f64-" in i for i in ids)
    assert any("()" in i for i in ids), "a rank-0 case"
    shapes = [tuple(a.shape for a in c.in_avals) for c in PRIM_CASES if len(c.in_avals) == 2]
    assert any(s[0] != s[1] and () in s for s in shapes), "a rank-0 operand broadcast against an array"
    assert any("(2,1)-(1,3)" in c.id for c in NUMPY_CASES), "NumPy broadcasting of two arrays"
