"""The NumPy array API of traced values: operators, methods and properties attached to ir.builder.Tracer.

The IR defines Tracer with the arithmetic its rules need (``+ - * /``, comparisons, logic); the rest of
what a NumPy user writes on an array (``x // y``, ``x @ y``, ``x[idx]``, ``x.sum(axis=0)``, ``x.T``,
``x.at[idx].set(v)``) is attached here, each as a call to the jaxlike.numpy function of the same meaning.
Importing jaxlike.numpy imports this module.
"""

import numpy as np

from . import _indexing
from . import numpy as jnp
from .ir.builder import ConcretizationTypeError, Tracer


def _binary(fn):
    def method(self, other):
        return fn(self, other)

    def reflected(self, other):
        return fn(other, self)
    return method, reflected


for _name, _fn in {"floordiv": jnp.floor_divide, "mod": jnp.remainder, "pow": jnp.power,
                   "matmul": jnp.matmul, "divmod": jnp.divmod}.items():
    _method, _reflected = _binary(_fn)
    _method.__name__, _reflected.__name__ = f"__{_name}__", f"__r{_name}__"
    setattr(Tracer, f"__{_name}__", _method)
    setattr(Tracer, f"__r{_name}__", _reflected)


def _setitem(self, index, value):
    raise TypeError("Traced arrays are immutable: instead of x[idx] = y, write x = x.at[idx].set(y) "
                    "(or .add, .multiply, .min, .max)")


def _item(self, *args):
    value = self._concrete("item", ConcretizationTypeError)
    return np.asarray(value).item(*args)


def _tolist(self):
    return np.asarray(self._concrete("tolist", ConcretizationTypeError)).tolist()


def _shape_args(args):
    """x.reshape(2, 3) and x.reshape((2, 3)) alike; also for transpose's axes."""
    return args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _reshape(self, *shape, order="C"):
    return jnp.reshape(self, _shape_args(shape), order=order)


def _transpose(self, *axes):
    return jnp.transpose(self, _shape_args(axes) if axes and axes != (None,) else None)


_ATTRIBUTES = {
    "__abs__": jnp.absolute,
    "__getitem__": _indexing.getitem,
    "__setitem__": _setitem,
    "__round__": lambda self, ndigits=None: jnp.round(self, ndigits or 0),
    "T": property(lambda self: jnp.transpose(self)),
    "mT": property(jnp.matrix_transpose),
    "at": property(_indexing._IndexUpdateHelper, doc="Functional updates: x.at[idx].set(v) and friends."),
    "nbytes": property(lambda self: self.size * self.dtype.itemsize),
    "itemsize": property(lambda self: self.dtype.itemsize),
    "sum": jnp.sum,
    "prod": jnp.prod,
    "max": jnp.max,
    "min": jnp.min,
    "mean": jnp.mean,
    "std": jnp.std,
    "var": jnp.var,
    "trace": jnp.trace,
    "argmax": jnp.argmax,
    "argmin": jnp.argmin,
    "any": jnp.any,
    "all": jnp.all,
    "cumsum": jnp.cumsum,
    "reshape": _reshape,
    "ravel": jnp.ravel,
    "flatten": jnp.ravel,
    "transpose": _transpose,
    "swapaxes": jnp.swapaxes,
    "squeeze": jnp.squeeze,
    "astype": lambda self, dtype: jnp.asarray(self, dtype),
    "dot": jnp.dot,
    "clip": jnp.clip,
    "round": jnp.round,
    "diagonal": jnp.diagonal,
    "take": jnp.take,
    "repeat": jnp.repeat,
    "copy": lambda self: self,
    "item": _item,
    "tolist": _tolist,
}

for _name, _value in _ATTRIBUTES.items():
    if _name in Tracer.__slots__:  # replacing a slot would lose the Tracer's own field
        raise RuntimeError(f"Tracer.{_name} is a field of the tracer, not an array method")
    setattr(Tracer, _name, _value)
