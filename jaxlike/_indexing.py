"""Where elements go: the shape functions of jaxlike.numpy, indexing (``x[idx]``) and functional updates
(``x.at[idx].set(v)``), all compositions of primitives.

Reading ``x[idx]`` takes at most four steps: ``rev`` for negative steps, one ``slice_`` for every slice and
static integer, one ``gather`` for the advanced (array) indices, then ``transpose``/``reshape`` to put the
axes where NumPy puts them. An update finds the flat positions the index selects (the same indexing, applied
to ``arange(x.size)``) and writes them with one ``scatter`` into the flattened array.
"""

import builtins
import math
import operator

import numpy as np

from . import numpy as jnp
from .errors import NonConcreteBooleanIndexError
from .ir import dtypes
from .ir.builder import ConcretizationTypeError, Tracer, broadcast_shapes, current_trace, emit, full
from .ir.builder import broadcast_to as _broadcast_to
from .ir.builder import convert
from .ir.builder import reshape as _reshape
from .ir.builder import transpose as _transpose
from .ir.prims import indexing as _ix
from .ir.prims import misc as _misc
from .ir.prims import shape as _s
from .numpy import _arr, _axes, _in, _shape_arg, _static, arange, ndim, remainder, result_type, shape, size

# --------------------------------------------------------------------------------------------------
# Shape functions


def reshape(a, shape, order="C"):
    if order != "C":
        raise NotImplementedError("jnp.reshape supports order='C' only")
    a = _arr(a)
    new = list(_shape_arg(shape))
    known = math.prod(s for s in new if s != -1)
    if new.count(-1) > 1:
        raise ValueError("can only specify one unknown dimension")
    if -1 in new:
        if known == 0 or size(a) % known:
            raise ValueError(f"cannot reshape array of size {size(a)} into shape {tuple(shape)}")
        new[new.index(-1)] = size(a) // known
    if math.prod(new) != size(a):
        raise ValueError(f"cannot reshape array of size {size(a)} into shape {tuple(new)}")
    return _reshape(a, tuple(new))


def ravel(a):
    return reshape(a, -1)


def transpose(a, axes=None):
    a = _arr(a)
    if axes is None:
        return _transpose(a, tuple(reversed(range(ndim(a)))))
    perm = tuple(operator.index(i) % builtins.max(ndim(a), 1) for i in axes)
    if sorted(perm) != list(range(ndim(a))) or len(axes) != ndim(a):
        raise ValueError("axes don't match array")
    return _transpose(a, perm)


def matrix_transpose(x):
    x = _arr(x)
    if ndim(x) < 2:
        raise ValueError(f"matrix_transpose needs an array of at least 2 dimensions, got shape {shape(x)}")
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    a = _arr(a)
    i, j = (_axes(ax, ndim(a))[0] for ax in (axis1, axis2))
    perm = list(range(ndim(a)))
    perm[i], perm[j] = perm[j], perm[i]
    return _transpose(a, perm)


def moveaxis(a, source, destination):
    a = _arr(a)
    src = [_axes(s, ndim(a))[0] for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [_axes(d, ndim(a))[0] for d in
           (destination if isinstance(destination, (tuple, list)) else (destination,))]
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number of elements")
    order = [i for i in range(ndim(a)) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return _transpose(a, order)


def expand_dims(a, axis):
    a = _arr(a)
    out_ndim = ndim(a) + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    axes = _axes(axis, out_ndim)
    dims = iter(shape(a))
    return _reshape(a, tuple(1 if i in axes else next(dims) for i in range(out_ndim)))


def squeeze(a, axis=None):
    a = _arr(a)
    if axis is None:
        axes = tuple(i for i, s in enumerate(shape(a)) if s == 1)
    else:
        axes = _axes(axis, ndim(a))
        if builtins.any(shape(a)[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return _reshape(a, tuple(s for i, s in enumerate(shape(a)) if i not in axes))


def broadcast_to(array, shape):
    array, shape = _arr(array), _shape_arg(shape)
    return _broadcast_to(array, shape)  # raises, naming both shapes, if they do not broadcast


def broadcast_arrays(*args):
    args = [_arr(a) for a in args]
    out_shape = broadcast_shapes(*[shape(a) for a in args])
    return tuple(_broadcast_to(a, out_shape) for a in args)


def _atleast(n, arys):
    out = []
    for a in arys:
        a = _arr(a)
        s = shape(a)
        if len(s) < n:
            s = {0: (1,) * n, 1: (1,) + s if n == 2 else (1,) + s + (1,), 2: s + (1,)}[len(s)]
            a = _reshape(a, s)
        out.append(a)
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys):
    return _atleast(1, arys)


def atleast_2d(*arys):
    return _atleast(2, arys)


def atleast_3d(*arys):
    return _atleast(3, arys)


def _promote_list(arrays):
    """Arrays (or Python scalars, weakly typed) converted to their common dtype, shapes unchanged."""
    arrays = [_in(a) for a in arrays]
    dt = result_type(*arrays)
    return [convert(a, dt) for a in arrays]


def concatenate(arrays, axis=0, dtype=None):
    arrays = _promote_list(list(arrays))
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    if dtype is not None:
        arrays = [convert(a, dtype) for a in arrays]
    nd = ndim(arrays[0])
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = _axes(axis, nd)[0]
    for i, a in enumerate(arrays[1:], 1):
        if ndim(a) != nd:
            raise ValueError("all the input arrays must have same number of dimensions, but the array at "
                             f"index 0 has {nd} dimension(s) and the array at index {i} has {ndim(a)} "
                             "dimension(s)")
        for d in range(nd):
            if d != axis and shape(a)[d] != shape(arrays[0])[d]:
                raise ValueError("all the input array dimensions except for the concatenation axis must "
                                 f"match exactly, but along dimension {d}, the array at index 0 has size "
                                 f"{shape(arrays[0])[d]} and the array at index {i} has size {shape(a)[d]}")
    if len(arrays) == 1:
        return arrays[0]
    return _s.concatenate(arrays, axis)


def stack(arrays, axis=0):
    arrays = _promote_list(list(arrays))
    if not arrays:
        raise ValueError("need at least one array to stack")
    if len({shape(a) for a in arrays}) != 1:
        raise ValueError("all input arrays must have the same shape")
    return concatenate([expand_dims(a, axis) for a in arrays], axis)


def hstack(tup):
    arrays = atleast_1d(*tup) if len(tup) != 1 else [atleast_1d(*tup)]
    return concatenate(arrays, 0 if ndim(arrays[0]) == 1 else 1)


def vstack(tup):
    arrays = atleast_2d(*tup) if len(tup) != 1 else [atleast_2d(*tup)]
    return concatenate(arrays, 0)


def _split_at(a, bounds, axis):
    pieces = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        start = [0] * ndim(a)
        limit = list(shape(a))
        start[axis], limit[axis] = lo, builtins.max(hi, lo)
        pieces.append(a if (lo, hi) == (0, shape(a)[axis]) else _s.slice_(a, tuple(start), tuple(limit)))
    return pieces


def array_split(ary, indices_or_sections, axis=0):
    a = _arr(ary)
    axis = _axes(axis, ndim(a))[0]
    n = shape(a)[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = builtins.divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [0] + list(np.cumsum(sizes))
    else:
        cuts = [operator.index(i) for i in indices_or_sections]
        bounds = [0] + [builtins.min(builtins.max(c + n if c < 0 else c, 0), n) for c in cuts] + [n]
    return _split_at(a, [int(b) for b in bounds], axis)


def split(ary, indices_or_sections, axis=0):
    a = _arr(ary)
    if np.ndim(indices_or_sections) == 0:
        axis_ = _axes(axis, ndim(a))[0]
        if shape(a)[axis_] % operator.index(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(a, indices_or_sections, axis)


def tile(A, reps):  # noqa: N803  (NumPy's name)
    a = _arr(A)
    reps = _shape_arg(reps)
    nd = builtins.max(len(reps), ndim(a))
    reps = (1,) * (nd - len(reps)) + reps
    a = _reshape(a, (1,) * (nd - ndim(a)) + shape(a))
    # (s0, s1) → broadcast to (r0, s0, r1, s1) → reshape to (r0 s0, r1 s1)
    paired = tuple(x for r, s in zip(reps, shape(a), strict=True) for x in (r, s))
    b = _s.broadcast_in_dim(a, paired, tuple(range(1, 2 * nd, 2)))
    return _reshape(b, tuple(r * s for r, s in zip(reps, shape(a), strict=True)))


def repeat(a, repeats, axis=None):
    a = _arr(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axes(axis, ndim(a))[0]
    repeats = np.asarray(_static(repeats, "the repeats of jnp.repeat"))
    n = shape(a)[axis]
    if repeats.ndim == 0 or repeats.shape == (1,):
        r = int(repeats.reshape(()))
        if r < 0:
            raise ValueError("negative dimensions are not allowed")
        # (…, n, …) → (…, n, r, …) → (…, n r, …)
        expanded = tuple(shape(a)[:axis + 1]) + (r,) + tuple(shape(a)[axis + 1:])
        dims = tuple(i if i <= axis else i + 1 for i in range(ndim(a)))
        out_shape = shape(a)[:axis] + (n * r,) + shape(a)[axis + 1:]
        return _reshape(_s.broadcast_in_dim(a, expanded, dims), out_shape)
    if repeats.shape != (n,):
        raise ValueError(f"operands could not be broadcast together with shape ({n},) {repeats.shape}")
    return take(a, np.repeat(np.arange(n), repeats), axis)


def flip(m, axis=None):
    m = _arr(m)
    axes = _axes(axis, ndim(m))
    return _s.rev(m, axes) if axes else m


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def roll(a, shift, axis=None):
    a = _arr(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape(a))
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences of the same length")
    for s, ax in zip(shifts, axes, strict=True):
        ax = _axes(ax, ndim(a))[0]
        n = shape(a)[ax]
        if n == 0:
            continue
        if isinstance(s, Tracer) and s.value is None:
            a = take(a, remainder(arange(n) - s, n), ax)  # a traced shift: one gather
            continue
        s = operator.index(_static(s, "the shift of jnp.roll")) % n
        if s:
            head, tail = _split_at(a, [0, n - s, n], ax)
            a = concatenate([tail, head], ax)
    return a


# --------------------------------------------------------------------------------------------------
# Indexing

_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or boolean "
              "arrays are valid indices")


# --------------------------------------------------------------------------------------------------
# Parsing: the index as a list of (kind, payload) entries


def _entry(item):
    """One entry of an index: ('none'|'ellipsis'|'slice'|'int'|'array'|'mask'|'bool', payload)."""
    if item is None:
        return ("none", None)
    if item is Ellipsis:
        return ("ellipsis", None)
    if isinstance(item, slice):
        return ("slice", slice(*(_static_int(v) for v in (item.start, item.stop, item.step))))
    if isinstance(item, (bool, np.bool_)):
        return ("bool", bool(item))
    if isinstance(item, (int, np.integer)):
        return ("int", int(item))
    if isinstance(item, (list, tuple)):
        item = jnp.asarray(item)
        if jnp.size(item) == 0:
            item = np.zeros(jnp.shape(item), np.int64)  # [] indexes nothing, it is not a float array
    if isinstance(item, np.ndarray) and item.dtype.kind in "iu" and item.dtype not in dtypes.SUPPORTED:
        item = item.astype(np.int64)  # int8, uint64, ... index as well as any other integers
    if isinstance(item, Tracer) or isinstance(item, np.ndarray):
        dt = jnp._dtype(item)
        if dtypes.is_bool(dt):
            return ("bool", item) if jnp.ndim(item) == 0 else ("mask", item)
        if dtypes.is_int(dt):
            if isinstance(item, np.ndarray) and item.ndim == 0:
                return ("int", int(item))
            return ("array", item)
    raise IndexError(_BAD_INDEX)


def _static_int(v):
    if v is None:
        return None
    if isinstance(v, Tracer):
        if v.value is None:
            raise ConcretizationTypeError(
                f"Array slice indices must have static start/stop/step, got a traced {v.aval} while "
                f"tracing {v._trace.name}. Use jaxlike.lax.dynamic_slice for a slice at a traced offset, or "
                "make the bound static.")
        v = v.value
    try:
        return int(np.asarray(v).__index__())
    except TypeError:
        raise TypeError("slice indices must be integers or None or have an __index__ method") from None


def _mask_value(mask):
    """The concrete value of a boolean mask, or the error that explains why there is none."""
    if isinstance(mask, Tracer):
        if mask.value is None:
            raise NonConcreteBooleanIndexError(
                f"Array boolean indices must be concrete; got a traced mask {mask.aval} while tracing "
                f"{mask._trace.name}. The number of elements a mask selects depends on its values, which are "
                "not known here (jit, vmap). Keep the shape static instead: jnp.where(mask, x, 0) zeroes "
                "the unselected elements (jnp.sum(jnp.where(mask, x, 0)) sums the selected ones), "
                "jnp.where(mask, x, -jnp.inf) ignores them in a max, and x.at[...].set(jnp.where(mask, v, "
                "x[...])) updates only the selected ones.")
        return np.asarray(mask.value)
    return np.asarray(mask)


def _parse(x, index):
    """(x with the axes that boolean scalars add, entries with masks replaced by integer arrays)."""
    if not isinstance(index, tuple):
        index = (index,)
    entries = [_entry(item) for item in index]
    if sum(kind == "ellipsis" for kind, _ in entries) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 if kind in ("int", "slice", "array") else
                   jnp.ndim(p) if kind == "mask" else 0 for kind, p in entries)
    if consumed > jnp.ndim(x):
        raise IndexError(f"too many indices for array: array is {jnp.ndim(x)}-dimensional, but "
                         f"{consumed} were indexed")
    expanded = []
    axis = 0
    for kind, payload in entries:
        if kind == "ellipsis":
            fill = jnp.ndim(x) - consumed
            expanded += [("slice", slice(None))] * fill
            axis += fill
        elif kind == "mask":
            value = _mask_value(payload)
            for d, n in enumerate(value.shape):
                if jnp.shape(x)[axis + d] != n:
                    raise IndexError(f"boolean index did not match indexed array along axis {axis + d}; "
                                     f"size of axis is {jnp.shape(x)[axis + d]} but size of corresponding "
                                     f"boolean axis is {n}")
            expanded += [("array", i) for i in np.nonzero(value)]
            axis += value.ndim
        elif kind == "bool":
            # a boolean scalar adds an axis of size 1 and selects it (True) or nothing of it (False)
            count = int(_mask_value(payload))
            x = _reshape(x, jnp.shape(x)[:axis] + (1,) + jnp.shape(x)[axis:])
            expanded.append(("array", np.zeros(count, np.int64)))
            axis += 1
        else:
            expanded.append((kind, payload))
            axis += kind in ("int", "slice", "array")
    expanded += [("slice", slice(None))] * (jnp.ndim(x) - axis)
    if any(kind == "array" for kind, _ in expanded):  # with an array among them, integers index like arrays
        expanded = [("array", np.asarray(p)) if kind == "int" else (kind, p) for kind, p in expanded]
    return x, expanded


# --------------------------------------------------------------------------------------------------
# Reading


def _basic(x, entries):
    """Apply the slices and static integers (rev + slice_); returns x and the integer axes to drop."""
    shape = jnp.shape(x)
    start, limit, stride = [0] * len(shape), list(shape), [1] * len(shape)
    reversed_axes, dropped = [], []
    axis = 0
    for kind, payload in entries:
        if kind == "none":
            continue
        n = shape[axis]
        if kind == "int":
            i = payload + n if payload < 0 else payload
            if not 0 <= i < n:
                raise IndexError(f"index {payload} is out of bounds for axis {axis} with size {n}")
            start[axis], limit[axis] = i, i + 1
            dropped.append(axis)
        elif kind == "slice":
            r = range(*payload.indices(n))
            if len(r) == 0:
                limit[axis] = 0
            elif r.step > 0:
                start[axis], limit[axis], stride[axis] = r.start, r[-1] + 1, r.step
            else:  # a negative step reads the reversed axis forwards
                reversed_axes.append(axis)
                first = n - 1 - r.start
                start[axis], limit[axis], stride[axis] = first, first + (len(r) - 1) * -r.step + 1, -r.step
        axis += 1
    if reversed_axes:
        x = _s.rev(x, tuple(reversed_axes))
    if (start, limit) != ([0] * len(shape), list(shape)) or any(s != 1 for s in stride):
        x = _s.slice_(x, tuple(start), tuple(limit), None if all(s == 1 for s in stride) else tuple(stride))
    return x, dropped


def _wrapped(index, n, axis):
    """An integer index array with negative entries counted from the end (static ones bounds-checked)."""
    if isinstance(index, Tracer):
        return jnp.where(index < 0, index + n, index)  # the gather clamps what is still out of range
    bad = (index < -n) | (index >= n)
    if bad.any():
        raise IndexError(f"index {index[bad].flat[0]} is out of bounds for axis {axis} with size {n}")
    return np.where(index < 0, index + n, index)


def getitem(x, index):
    """``x[index]`` with NumPy's semantics (basic and advanced indexing)."""
    x = jnp._arr(x)
    x, entries = _parse(x, index)
    x, dropped = _basic(x, entries)
    arrays = [(axis, payload) for axis, (kind, payload) in
              enumerate(e for e in entries if e[0] != "none") if kind == "array"]
    if not arrays:
        shape = iter(jnp.shape(x))
        out_shape = []
        axis = 0
        for kind, _ in entries:
            if kind == "none":
                out_shape.append(1)
                continue
            n = next(shape)
            if axis not in dropped:
                out_shape.append(n)
            axis += 1
        return _reshape(x, tuple(out_shape))
    return _advanced(x, entries, arrays)


def _advanced(x, entries, arrays):
    shapes = [jnp.shape(a) for _, a in arrays]
    try:
        batch = broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together with shapes "
                         + " ".join(str(s) for s in shapes)) from None
    idx_dtype = result_type(*[a for _, a in arrays])
    columns = [_broadcast_to(convert(_wrapped(a, jnp.shape(x)[axis], axis), idx_dtype), batch)
               for axis, a in arrays]
    indices = jnp.stack(columns, -1)
    axes = tuple(axis for axis, _ in arrays)
    gathered = _ix.gather(x, indices, axes)  # batch axes, then the other axes of x in order
    # NumPy puts the batch axes where the advanced indices are when those are adjacent, else in front
    positions = [i for i, (kind, _) in enumerate(entries) if kind == "array"]
    adjacent = positions == list(range(positions[0], positions[-1] + 1))
    nb = len(batch)
    order, out_shape, rest = [], [], iter(range(nb, jnp.ndim(gathered)))
    if not adjacent:
        order += range(nb)
        out_shape += batch
    for i, (kind, _) in enumerate(entries):
        if kind == "none":
            out_shape.append(1)
        elif kind == "slice":
            j = next(rest)
            order.append(j)
            out_shape.append(jnp.shape(gathered)[j])
        elif adjacent and i == positions[0]:
            order += range(nb)
            out_shape += batch
    return _reshape(_transpose(gathered, order), tuple(out_shape))


def take(a, indices, axis=None):
    """NumPy's take (mode 'raise' for static indices; traced indices are clamped)."""
    a = jnp._arr(a)
    if axis is None:
        a, axis = jnp.ravel(a), 0
    axis = jnp._axes(axis, jnp.ndim(a))[0]
    indices = indices if isinstance(indices, Tracer) else np.asarray(indices)
    if jnp.ndim(indices) == 0 and not isinstance(indices, Tracer):
        indices = int(indices)
    return getitem(a, (slice(None),) * axis + (indices,))


# --------------------------------------------------------------------------------------------------
# Functional updates: x.at[idx].set(v) and friends


class _IndexUpdateHelper:
    """``x.at``: indexing it gives the update operations at that index."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


class _IndexUpdateRef:
    """``x.at[idx]``: each method returns a new array; x itself is unchanged."""

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, **kwargs):
        _check_mode(kwargs)
        return getitem(self.array, self.index)

    def set(self, values, **kwargs):
        """x[idx] = values; with repeated indices the last write wins."""
        return _update(self.array, self.index, values, "set", kwargs)

    def add(self, values, **kwargs):
        """x[idx] += values, accumulating repeated indices (np.add.at)."""
        return _update(self.array, self.index, values, "add", kwargs)

    def multiply(self, values, **kwargs):
        return _update(self.array, self.index, values, "multiply", kwargs)

    mul = multiply

    def divide(self, values, **kwargs):
        return _update(self.array, self.index, values, "divide", kwargs)

    def power(self, values, **kwargs):
        return _update(self.array, self.index, values, "power", kwargs)

    def min(self, values, **kwargs):
        return _update(self.array, self.index, values, "min", kwargs)

    def max(self, values, **kwargs):
        return _update(self.array, self.index, values, "max", kwargs)


def at(x):
    """``jnp.at(x)[idx].set(v)``: the functional update ``x.at[idx].set(v)`` of traced values, for any array.

    Outside a trace jnp functions return NumPy arrays, which have no ``.at``; this spelling works for both.
    """
    return _IndexUpdateHelper(jnp._arr(x))


def _check_mode(kwargs):
    unknown = set(kwargs) - {"mode", "indices_are_sorted", "unique_indices"}
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
    if kwargs.get("mode") not in (None, "clip", "promise_in_bounds"):
        raise NotImplementedError(f"mode={kwargs['mode']!r} is not supported: static out-of-bounds indices "
                                  "raise IndexError, traced ones are clamped into range")


# combine(current, update) for each operation, and how several updates of one element combine first
_APPLY = {"multiply": jnp.multiply, "divide": jnp.divide, "power": jnp.power,
          "min": jnp.minimum, "max": jnp.maximum}
_COMBINE = {"multiply": ("prod", 1), "divide": ("prod", 1), "power": ("prod", 1),
            "min": ("min", None), "max": ("max", None)}


def _update(x, index, values, op, kwargs):
    _check_mode(kwargs)
    x = jnp._arr(x)
    dt = jnp._dtype(x)
    positions = getitem(_flat_positions(jnp.shape(x), index), index)  # laid out like x[index]
    target = jnp.shape(positions)
    values = convert(jnp._in(values), dt)
    if not isinstance(values, Tracer) and np.ndim(values) == 0:
        values = full(target, values, dt)  # symbolic inside a trace: no constant of the target's size
    vshape = jnp.shape(values)
    while len(vshape) > len(target) and vshape[0] == 1:  # NumPy drops leading unit axes of the values
        vshape = vshape[1:]
    values = _reshape(values, vshape)
    try:
        values = _broadcast_to(values, target)
    except ValueError:
        raise ValueError(f"could not broadcast input array from shape {jnp.shape(values)} into shape "
                         f"{target}") from None
    flat_x, pos, vals = jnp.ravel(x), jnp.ravel(positions), jnp.ravel(values)
    if op in ("set", "add"):
        out = (_ix.scatter if op == "set" else _ix.scatter_add)(flat_x, jnp.reshape(pos, (-1, 1)), vals, (0,))
    elif not isinstance(pos, Tracer):
        out = _combine_static(flat_x, pos, vals, op)
    elif _may_repeat(index):
        out = _combine_traced(flat_x, pos, vals, op)
    else:
        out = _write(flat_x, pos, _APPLY[op](getitem(flat_x, pos), vals))
    return _reshape(convert(out, dt), jnp.shape(x))


def _has_tracer(index):
    if isinstance(index, Tracer):
        return True
    return isinstance(index, (tuple, list)) and any(_has_tracer(i) for i in index)


def _flat_positions(shape, index):
    """arange(size).reshape(shape), the flat position of every element. For a static index a NumPy array,
    so the selected positions are known while tracing; for a traced one an iota in the open trace, so the
    graph holds no constant as large as x."""
    size = math.prod(shape)
    dtype = dtypes.int32 if size < 2 ** 31 else dtypes.int64
    trace = current_trace()
    if trace is None or not _has_tracer(index):
        return np.arange(size, dtype=dtype).reshape(shape)
    return _reshape(emit(trace, _misc.iota_p, [], dict(dtype=dtype, shape=(size,), dimension=0)), shape)


def _may_repeat(index):
    """Whether an index can select one element twice: only index arrays with several entries can."""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (list, tuple, np.ndarray, Tracer)) and size(i) > 1 for i in items)


def _write(flat_x, pos, new):
    return _ix.scatter(flat_x, jnp.reshape(pos, (-1, 1)), convert(new, jnp._dtype(flat_x)), (0,))


def _combine_static(flat_x, pos, vals, op):
    """Known positions: apply the updates in rounds, the k-th round taking the k-th repeat of each position,
    so every round writes distinct positions and repeats combine in order, like ``np.multiply.at``."""
    order = np.argsort(pos, kind="stable")
    ordered = pos[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]] if len(pos) else np.zeros(0, bool)
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(pos)), 0)) if len(pos) else starts
    repeat = np.empty(len(pos), np.int64)
    repeat[order] = np.arange(len(pos)) - run_start
    rounds = int(repeat.max()) + 1 if len(pos) else 0
    for r in range(rounds):
        chosen = np.nonzero(repeat == r)[0]
        p = pos[chosen]
        v = vals if len(chosen) == len(pos) else getitem(vals, chosen)
        flat_x = _write(flat_x, p, _APPLY[op](getitem(flat_x, p), v))
    return flat_x


def _combine_traced(flat_x, pos, vals, op):
    """Traced positions: combine the updates of equal positions pairwise (an m × m comparison), so that all
    copies of a position write the same value. (x ** a) ** b is x ** (a b), so power combines by product."""
    same = jnp.equal(jnp.reshape(pos, (-1, 1)), jnp.reshape(pos, (1, -1)))
    kind, _ = _COMBINE[op]
    spread = _broadcast_to(jnp.reshape(vals, (1, -1)), jnp.shape(same))
    dt = jnp._dtype(vals)
    if kind == "prod":
        combined = jnp.prod(jnp.where(same, spread, np.ones((), dt)), axis=1)
    else:  # the other positions' updates are replaced by the identity of min (max)
        if dtypes.is_float(dt):
            identity = np.inf if kind == "min" else -np.inf
        elif dtypes.is_int(dt):
            identity = np.iinfo(dt).max if kind == "min" else np.iinfo(dt).min
        else:
            identity = kind == "min"
        spread = jnp.where(same, spread, np.asarray(identity, dt))
        combined = (jnp.min if kind == "min" else jnp.max)(spread, axis=1)
    return _write(flat_x, pos, _APPLY[op](getitem(flat_x, pos), combined))
