"""Products, diagonals and norms of jaxlike.numpy: compositions of dot_general, reshape, slice and select.

Everything that contracts axes ends in one ``dot_general`` (lhs contracting, rhs contracting, batch axes;
output axes are batch, lhs free, rhs free), so transforms see one primitive whatever the NumPy spelling.
"""

import builtins
import math
import operator

import numpy as np

from . import numpy as jnp
from .ir import dtypes
from .ir.builder import broadcast_shapes
from .ir.builder import broadcast_to as _broadcast_to
from .ir.builder import convert
from .ir.builder import reshape as _reshape
from .ir.builder import transpose as _transpose
from .ir.prims import shape as _s

LINALG_NAMES = ("norm", "vector_norm", "matrix_norm", "matmul", "outer", "tensordot")


def _common(*xs):
    """Operands converted to their common dtype (no broadcasting)."""
    xs = [jnp._arr(x) for x in xs]
    dt = jnp.result_type(*xs)
    return [convert(x, dt) for x in xs]


def _dot_general(a, b, contract, batch=((), ())):
    from .ir.prims import linalg as _la
    dims = ((tuple(contract[0]), tuple(contract[1])), (tuple(batch[0]), tuple(batch[1])))
    if jnp._kind(a) == "b":  # NumPy's bool products are "any of the ands"
        a, b = convert(a, dtypes.int32), convert(b, dtypes.int32)
        return convert(_la.dot_general(a, b, dims), dtypes.bool_)
    return _la.dot_general(a, b, dims)


def dot(a, b):
    a, b = _common(a, b)
    sa, sb = jnp.shape(a), jnp.shape(b)
    if not sa or not sb:
        return jnp.multiply(a, b)
    kb = 0 if len(sb) == 1 else len(sb) - 2
    if sa[-1] != sb[kb]:
        raise ValueError(f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != "
                         f"{sb[kb]} (dim {kb})")
    return _dot_general(a, b, ((len(sa) - 1,), (kb,)))


def vdot(a, b):
    return dot(jnp.ravel(a), jnp.ravel(b))


def inner(a, b):
    a, b = _common(a, b)
    sa, sb = jnp.shape(a), jnp.shape(b)
    if not sa or not sb:
        return jnp.multiply(a, b)
    if sa[-1] != sb[-1]:
        raise ValueError(f"shapes {sa} and {sb} not aligned: {sa[-1]} (dim {len(sa) - 1}) != "
                         f"{sb[-1]} (dim {len(sb) - 1})")
    return _dot_general(a, b, ((len(sa) - 1,), (len(sb) - 1,)))


def outer(a, b):
    a, b = jnp._arr(a), jnp._arr(b)
    return jnp.multiply(_reshape(a, (jnp.size(a), 1)), _reshape(b, (1, jnp.size(b))))


def matmul(a, b):
    """NumPy's @: 1-D operands are promoted to matrices and the added axis removed; batch axes broadcast."""
    a, b = _common(a, b)
    for i, x in enumerate((a, b)):
        if jnp.ndim(x) == 0:
            raise ValueError(f"matmul: Input operand {i} does not have enough dimensions (has 0, gufunc "
                             "core with signature (n?,k),(k,m?)->(n?,m?) requires 1)")
    a_vec, b_vec = jnp.ndim(a) == 1, jnp.ndim(b) == 1
    if a_vec:
        a = _reshape(a, (1,) + jnp.shape(a))
    if b_vec:
        b = _reshape(b, jnp.shape(b) + (1,))
    sa, sb = jnp.shape(a), jnp.shape(b)
    if sa[-1] != sb[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
                         f"signature (n?,k),(k,m?)->(n?,m?) (size {sb[-2]} is different from {sa[-1]})")
    if len(sb) == 2:  # (..., n, k) @ (k, m): no batch axes, the lhs's leading axes are free axes
        out = _dot_general(a, b, ((len(sa) - 1,), (0,)))
    elif len(sa) == 2:  # (n, k) @ (..., k, m): the result comes out as (n, ..., m)
        out = jnp.moveaxis(_dot_general(a, b, ((1,), (len(sb) - 2,))), 0, -2)
    else:
        batch = broadcast_shapes(sa[:-2], sb[:-2])
        a, b = _broadcast_to(a, batch + sa[-2:]), _broadcast_to(b, batch + sb[-2:])
        nb = len(batch)
        out = _dot_general(a, b, ((nb + 1,), (nb,)), (tuple(range(nb)), tuple(range(nb))))
    s = jnp.shape(out)
    if a_vec and b_vec:
        return _reshape(out, s[:-2])
    if a_vec:
        return _reshape(out, s[:-2] + s[-1:])
    if b_vec:
        return _reshape(out, s[:-1])
    return out


def tensordot(a, b, axes=2):
    a, b = _common(a, b)
    sa, sb = jnp.shape(a), jnp.shape(b)
    if np.ndim(axes) == 0:
        n = operator.index(axes)
        if n < 0 or n > builtins.min(len(sa), len(sb)):
            raise ValueError(f"tensordot: axes={n} is out of range for shapes {sa} and {sb}")
        ax_a, ax_b = tuple(range(len(sa) - n, len(sa))), tuple(range(n))
    else:
        ax_a, ax_b = axes
        ax_a = (ax_a,) if np.ndim(ax_a) == 0 else tuple(ax_a)
        ax_b = (ax_b,) if np.ndim(ax_b) == 0 else tuple(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError("tensordot: the two sequences of axes must have the same length")
        ax_a = tuple(jnp._axes(i, len(sa))[0] for i in ax_a)
        ax_b = tuple(jnp._axes(i, len(sb))[0] for i in ax_b)
    for i, j in zip(ax_a, ax_b, strict=True):
        if sa[i] != sb[j]:
            raise ValueError(f"shape-mismatch for sum: axis {i} of {sa} has size {sa[i]}, axis {j} of {sb} "
                             f"has size {sb[j]}")
    return _dot_general(a, b, (ax_a, ax_b))


# --------------------------------------------------------------------------------------------------
# einsum


def _parse_einsum(subscripts, operands):
    """Input label strings and the output label string, with '...' spelled out as fresh labels."""
    subscripts = subscripts.replace(" ", "")
    ins, arrow, out = subscripts.partition("->")
    specs = ins.split(",")
    if len(specs) != len(operands):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(specs)} operands, but "
                         f"{len(operands)} were given")
    used = set(subscripts)
    fresh = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = 0
    for spec, x in zip(specs, operands, strict=True):
        if "..." in spec:
            n_ell = builtins.max(n_ell, jnp.ndim(x) - (len(spec) - 3))
    ell = "".join(fresh[:n_ell])
    new_specs = []
    for i, (spec, x) in enumerate(zip(specs, operands, strict=True)):
        if "..." in spec:
            k = jnp.ndim(x) - (len(spec) - 3)
            spec = spec.replace("...", ell[n_ell - k:] if k else "")
        if spec and not spec.isalpha():
            raise ValueError(f"einsum: subscripts {specs[i]!r} of operand {i} use a character that is "
                             "not a letter")
        if len(spec) != jnp.ndim(x):
            raise ValueError(f"einsum: operand {i} has {jnp.ndim(x)} dimensions, but its subscripts "
                             f"{specs[i]!r} name {len(spec)}")
        new_specs.append(spec)
    if arrow:
        out = out.replace("...", ell)
    else:  # implicit output: the broadcast axes, then the labels used once, in alphabetical order
        counts = {c: "".join(new_specs).count(c) for c in set("".join(new_specs))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    if len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscript {out!r} repeats a label")
    for c in out:
        if not builtins.any(c in s for s in new_specs):
            raise ValueError(f"einsum: output label {c!r} does not appear in any input")
    return new_specs, out


def _einsum_diagonals(x, spec):
    """Repeated labels within one operand (``ii``) take the diagonal; the label moves to the end."""
    while len(set(spec)) != len(spec):
        c = next(c for c in spec if spec.count(c) > 1)
        i = spec.index(c)
        j = spec.index(c, i + 1)
        x = diagonal(x, 0, i, j)
        spec = spec[:i] + spec[i + 1:j] + spec[j + 1:] + c
    return x, spec


def einsum(subscripts, *operands, optimize=None):
    """NumPy's einsum: explicit (``'ij,jk->ik'``) or implicit subscripts, ``...``, repeated labels.

    Operands are contracted left to right, each pair in one dot_general; labels that appear in a single
    operand and not in the output are summed out first. ``optimize`` is accepted and ignored.
    """
    operands = _common(*operands)
    specs, out = _parse_einsum(subscripts, operands)
    sizes = {}
    for i, (spec, x) in enumerate(zip(specs, operands, strict=True)):
        for c, n in zip(spec, jnp.shape(x), strict=True):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: size of label {c!r} for operand {i} ({n}) does not match "
                                 f"previous terms ({sizes[c]})")
    terms = [_einsum_diagonals(x, spec) for x, spec in zip(operands, specs, strict=True)]
    everywhere = "".join(spec for _, spec in terms)
    summed = []
    for x, spec in terms:
        lonely = [i for i, c in enumerate(spec) if everywhere.count(c) == 1 and c not in out]
        summed.append((jnp.sum(x, tuple(lonely)) if lonely else x,
                       "".join(c for i, c in enumerate(spec) if i not in lonely)))
    terms = summed
    while len(terms) > 1:
        (a, sa), (b, sb) = terms[0], terms[1]
        later = set(out).union(*[set(s) for _, s in terms[2:]])
        shared = [c for c in sa if c in sb]
        batch = [c for c in shared if c in later]
        contract = [c for c in shared if c not in later]
        ab = _dot_general(a, b, ([sa.index(c) for c in contract], [sb.index(c) for c in contract]),
                          ([sa.index(c) for c in batch], [sb.index(c) for c in batch]))
        spec = "".join(batch) + "".join(c for c in sa if c not in sb) + "".join(c for c in sb if c not in sa)
        terms = [(ab, spec)] + terms[2:]
    x, spec = terms[0]
    extra = tuple(i for i, c in enumerate(spec) if c not in out)
    if extra:
        x = jnp.sum(x, extra)
        spec = "".join(c for c in spec if c in out)
    return _transpose(x, tuple(spec.index(c) for c in out))


# --------------------------------------------------------------------------------------------------
# Diagonals and triangles


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal as a strided slice: the square block, flattened, every (n + 1)-th element."""
    a = jnp._arr(a)
    if jnp.ndim(a) < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = jnp._axes(axis1, jnp.ndim(a))[0], jnp._axes(axis2, jnp.ndim(a))[0]
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    x = jnp.moveaxis(a, (ax1, ax2), (-2, -1))
    *lead, rows, cols = jnp.shape(x)
    lead = tuple(lead)
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    n = builtins.max(builtins.min(rows - r0, cols - c0), 0)
    if n == 0:
        return np.zeros(lead + (0,), jnp._dtype(a))
    if (r0, c0, n, n) != (0, 0, rows, cols):
        x = _s.slice_(x, (0,) * len(lead) + (r0, c0), lead + (r0 + n, c0 + n))
    flat = _reshape(x, lead + (n * n,))
    if n == 1:
        return flat
    return _s.slice_(flat, (0,) * (len(lead) + 1), lead + (n * n,), (1,) * len(lead) + (n + 1,))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    return jnp.sum(diagonal(a, offset, axis1, axis2), -1, dtype=dtype)


def diag(v, k=0):
    """The k-th diagonal of a matrix, or the matrix with the vector v on its k-th diagonal."""
    v = jnp._arr(v)
    k = operator.index(k)
    if jnp.ndim(v) == 2:
        return diagonal(v, k)
    if jnp.ndim(v) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = jnp.size(v) + builtins.abs(k)
    if k:
        v = jnp.concatenate([v, np.zeros(builtins.abs(k), jnp._dtype(v))])
    # entry (i, i + k) is v[i]: for k >= 0 it depends on the row only, for k < 0 on the column only
    values = _reshape(v, (n, 1) if k >= 0 else (1, n))
    return jnp.where(np.eye(n, k=k, dtype=bool), values, np.zeros((), jnp._dtype(v)))


def _triangle(m, mask):
    m = jnp._arr(m)
    if jnp.ndim(m) < 2:
        m = _broadcast_to(m, (jnp.size(m), jnp.size(m)))
    return jnp.where(mask(*jnp.shape(m)[-2:]), m, np.zeros((), jnp._dtype(m)))


def tril(m, k=0):
    return _triangle(m, lambda n, p: np.tri(n, p, k, dtype=bool))


def triu(m, k=0):
    return _triangle(m, lambda n, p: ~np.tri(n, p, k - 1, dtype=bool))


# --------------------------------------------------------------------------------------------------
# Norms


def _vector_norm(x, ord, axes, keepdims):
    absx = jnp.absolute(x)
    if ord is None or ord == 2:
        return jnp.sqrt(jnp.sum(jnp.square(x), axes, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    if ord == math.inf:
        return jnp.max(absx, axes, keepdims=keepdims)
    if ord == -math.inf:
        return jnp.min(absx, axes, keepdims=keepdims)
    if ord == 0:
        return jnp.sum(convert(jnp.not_equal(x, 0), jnp._dtype(x)), axes, keepdims=keepdims)
    if ord == 1:
        return jnp.sum(absx, axes, keepdims=keepdims)
    p = int(ord) if float(ord).is_integer() else float(ord)
    return jnp.power(jnp.sum(jnp.power(absx, p), axes, keepdims=keepdims), 1.0 / p)


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord is None or ord == "fro":
        return jnp.sqrt(jnp.sum(jnp.square(x), axes, keepdims=keepdims))
    if ord in (2, -2, "nuc"):
        raise NotImplementedError(f"the matrix norm ord={ord!r} needs singular values, which jaxlike does "
                                  "not compute; ord=None/'fro', 1, -1, inf and -inf are supported")
    if ord in (1, -1):  # the largest (smallest) column sum
        pick, summed, other = (jnp.max if ord == 1 else jnp.min), row, col
    elif ord in (math.inf, -math.inf):  # the largest (smallest) row sum
        pick, summed, other = (jnp.max if ord > 0 else jnp.min), col, row
    else:
        raise ValueError("Invalid norm order for matrices.")
    sums = jnp.sum(jnp.absolute(x), summed, keepdims=True)
    out = pick(sums, other, keepdims=True)
    if keepdims:
        return out
    return _reshape(out, tuple(s for i, s in enumerate(jnp.shape(out)) if i not in axes))


def norm(x, ord=None, axis=None, keepdims=False):
    """NumPy's linalg.norm: vector norms (any ord) and the matrix norms that need no factorization."""
    x = jnp._to_float(jnp._arr(x))
    nd = jnp.ndim(x)
    if axis is None:
        if ord is None:
            return jnp.sqrt(jnp.sum(jnp.square(x), None, keepdims=keepdims))
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    axes = (operator.index(axis),) if np.ndim(axis) == 0 else tuple(axis)
    norm_axes = tuple(jnp._axes(a, nd)[0] for a in axes)
    if len(set(norm_axes)) != len(norm_axes):
        raise ValueError("Duplicate axes given.")
    if len(norm_axes) == 1:
        return _vector_norm(x, ord, norm_axes, keepdims)
    if len(norm_axes) == 2:
        return _matrix_norm(x, ord, norm_axes, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def vector_norm(x, axis=None, keepdims=False, ord=2):
    x = jnp._to_float(jnp._arr(x))
    if axis is None:
        out = _vector_norm(jnp.ravel(x), ord, (0,), False)
        return _reshape(out, (1,) * jnp.ndim(x)) if keepdims else out
    return _vector_norm(x, ord, jnp._axes(axis, jnp.ndim(x)), keepdims)


def matrix_norm(x, keepdims=False, ord="fro"):
    return norm(x, ord, (-2, -1), keepdims)
