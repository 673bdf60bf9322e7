"""Primitive, the rule table, and the helpers that make the common rules one line.

Each primitive carries its rules as attributes, all registered next to its definition in its family file:

- ``shape_rule(*avals, **params) -> AVal | list[AVal]``
- ``impl(*arrays, **params) -> ndarray | list[ndarray]``: the NumPy reference semantics
- ``jvp(primals, tangents, **params) -> (out, tangent_out)``; a tangent may be ``Zero``
- ``transpose(ct, *args, **params) -> list``: one cotangent (or None) per arg; linear args are ``Linear``
- ``batch(args, dims, **params) -> (out, dim)``; a dim is an int or ``not_mapped``
- ``dce(used_outputs, eqn) -> Eqn | None``: optional, for a primitive with nested graphs (control flow):
  the equation trimmed to the used outputs (see ir.dce); without it dce keeps an equation whole

The handles the rules receive are Tracers (or NumPy arrays when a value is constant); their operators and
the functions of ``ir.builder`` and the family files bind primitives, so a rule reads like the math.
"""

from .core import AVal

PRIMITIVES = {}  # name -> Primitive, in registration order
RULES = ("shape_rule", "impl", "jvp", "transpose", "batch")
NONLINEAR = "nonlinear"  # the transpose "rule" of a primitive that is not linear in any input


class Primitive:
    def __init__(self, name, *, family, multiple_results=False):
        if name in PRIMITIVES:
            raise ValueError(f"primitive {name!r} is registered twice")
        self.name = name
        self.family = family
        self.multiple_results = multiple_results
        self.shape_rule = None
        self.impl = None
        self.jvp = None
        self.transpose = None
        self.batch = None
        self.dce = None  # optional (not in RULES): only primitives with nested graphs have something to trim
        self.holes = {}  # rule name -> why this primitive has no such rule
        PRIMITIVES[name] = self

    def bind(self, *args, **params):
        from .builder import bind
        return bind(self, args, params)

    def declare_hole(self, rule, why):
        self.holes[rule] = why

    def __repr__(self):
        return self.name


# --------------------------------------------------------------------------------------------------
# Symbolic zeros and linear inputs

class Zero:
    """A tangent or cotangent that is known to be zero: never materialised unless a consumer needs it."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval})"


class Linear:
    """An input of a transpose rule that the output is linear in (JAX's UndefinedPrimal)."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Linear({self.aval})"


not_mapped = None


def is_zero(x):
    return isinstance(x, Zero)


def aval_of(x):
    from .builder import aval_of as _aval_of
    return _aval_of(x)


def instantiate(x):
    """A Zero made concrete (an array of zeros); anything else unchanged."""
    if isinstance(x, Zero):
        from .builder import full
        return full(x.aval.shape, 0, x.aval.dtype)
    return x


def add_tangents(x, y):
    if isinstance(x, Zero):
        return y
    if isinstance(y, Zero):
        return x
    return x + y


# --------------------------------------------------------------------------------------------------
# Helpers for the common rule shapes


def defimpl(prim, impl, shape_rule):
    prim.impl = impl
    prim.shape_rule = shape_rule


def _to_out_shape(term, aval):
    """A rank-0 term of an elementwise rule broadcast to the output's shape."""
    from .builder import broadcast_to
    term_aval = aval_of(term)
    if term_aval.shape != aval.shape:
        term = broadcast_to(term, aval.shape)
    if term_aval.dtype != aval.dtype:
        from .builder import convert
        term = convert(term, aval.dtype)
    return term


def _jvp_from_terms(prim, rules, with_ans):
    """The jvp as the sum of one term per input with a non-zero tangent (each term shaped like the output)."""
    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        aval = aval_of(out)
        lead = (out,) if with_ans else ()
        total = Zero(aval)
        for rule, t in zip(rules, tangents, strict=True):
            if rule is not None and not is_zero(t):
                total = add_tangents(total, _to_out_shape(rule(t, *lead, *primals, **params), aval))
        return out, total
    prim.jvp = jvp


def defjvp(prim, *rules):
    """One rule per input, ``rule(g, *primals, **params)``, each giving that input's term; None: no term."""
    _jvp_from_terms(prim, rules, with_ans=False)


def defjvp_ans(prim, *rules):
    """Like defjvp, with the output first: ``rule(g, ans, *primals, **params)`` (exp: ``g * ans``)."""
    _jvp_from_terms(prim, rules, with_ans=True)


def defzero_jvp(prim):
    """Piecewise-constant or integer-valued: the tangent is zero everywhere it is defined."""
    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        if prim.multiple_results:
            return out, [Zero(aval_of(o)) for o in out]
        return out, Zero(aval_of(out))
    prim.jvp = jvp
    prim.transpose = NONLINEAR


def deflinear(prim, transpose_rule):
    """Linear in all its array inputs: the jvp applies the primitive to the tangents."""
    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        if all(is_zero(t) for t in tangents):
            return out, Zero(aval_of(out))
        return out, prim.bind(*[instantiate(t) for t in tangents], **params)
    prim.jvp = jvp

    def transpose(ct, *args, **params):
        if is_zero(ct):
            return [None] * len(args)
        return transpose_rule(ct, *args, **params)
    prim.transpose = transpose


def defbilinear(prim, lhs_rule, rhs_rule):
    """Linear in each input separately (mul, dot_general): jvp is ``prim(tx, y) + prim(x, ty)``.

    ``lhs_rule(ct, x, y, **params)`` is the cotangent of x when x is the linear input, likewise rhs_rule.
    """
    def jvp(primals, tangents, **params):
        x, y = primals
        tx, ty = tangents
        out = prim.bind(x, y, **params)
        aval = aval_of(out)
        total = Zero(aval)
        if not is_zero(tx):
            total = add_tangents(total, _to_out_shape(prim.bind(tx, y, **params), aval))
        if not is_zero(ty):
            total = add_tangents(total, _to_out_shape(prim.bind(x, ty, **params), aval))
        return out, total
    prim.jvp = jvp

    def transpose(ct, x, y, **params):
        if isinstance(x, Linear) and isinstance(y, Linear):
            raise ValueError(f"{prim.name} is bilinear, not linear: both inputs cannot be linear at once")
        if is_zero(ct):
            return [None, None]
        if isinstance(x, Linear):
            return [lhs_rule(ct, x, y, **params), None]
        return [None, rhs_rule(ct, x, y, **params)]
    prim.transpose = transpose


def defvectorized(prim):
    """Batching of a one-input elementwise primitive: the batch axis passes through."""
    def batch(args, dims, **params):
        (x,), (d,) = args, dims
        return prim.bind(x, **params), d
    prim.batch = batch


def defbroadcasting(prim):
    """Batching of an n-ary elementwise primitive (rank-0 operands broadcast, as the shape rule allows)."""
    def batch(args, dims, **params):
        from .builder import broadcast_to, moveaxis
        size = next(aval_of(a).shape[d] for a, d in zip(args, dims) if d is not not_mapped)
        rank = max(aval_of(a).ndim - (d is not not_mapped) for a, d in zip(args, dims))
        shape = None
        moved = []
        for a, d in zip(args, dims):
            if d is not not_mapped:
                a = moveaxis(a, d, 0)
                shape = aval_of(a).shape if aval_of(a).ndim == rank + 1 else shape
            moved.append(a)
        if shape is None:
            shape = (size,) + next(aval_of(a).shape for a, d in zip(args, dims)
                                   if d is not_mapped and aval_of(a).ndim == rank)
        out_args = []
        for a, d in zip(moved, dims):
            if d is not_mapped and aval_of(a).ndim == 0:
                out_args.append(a)  # an unbatched scalar still broadcasts by itself
            elif aval_of(a).shape != shape:
                out_args.append(broadcast_to(a, shape, leading_batch=d is not not_mapped))
            else:
                out_args.append(a)
        return prim.bind(*out_args, **params), 0
    prim.batch = batch


def elementwise_shape_rule(name):
    """Shape rule of an elementwise primitive: equal shapes and dtypes; rank-0 operands broadcast."""
    def rule(*avals, **params):
        dtypes_ = {a.dtype for a in avals}
        if len(dtypes_) > 1:
            raise TypeError(f"{name} requires operands of one dtype, got "
                            f"{', '.join(str(a.dtype) for a in avals)}; convert one with .astype()")
        shapes = {a.shape for a in avals if a.ndim > 0}
        if len(shapes) > 1:
            raise ValueError(f"{name} got incompatible shapes "
                             f"{' and '.join(str(a.shape) for a in avals)}; broadcast them first")
        shape = shapes.pop() if shapes else ()
        return AVal(shape, avals[0].dtype)
    return rule
