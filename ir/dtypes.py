"""The dtypes jaxlike knows, their short printed names, and NumPy 2 promotion with weak Python scalars."""

import numpy as np

bool_ = np.dtype(np.bool_)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint32 = np.dtype(np.uint32)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)

SHORT_NAMES = {bool_: "bool", int32: "i32", int64: "i64", uint32: "u32", float32: "f32", float64: "f64"}
FROM_SHORT = {name: dt for dt, name in SHORT_NAMES.items()}
SUPPORTED = tuple(SHORT_NAMES)


def short_name(dtype):
    return SHORT_NAMES[np.dtype(dtype)]


def canonical(dtype):
    """The supported dtype a NumPy dtype maps to (int8 -> int32 would lose nothing; we refuse instead)."""
    dt = np.dtype(dtype)
    if dt in SHORT_NAMES:
        return dt
    if dt.kind == "f" and dt.itemsize < 4:
        return float32
    raise TypeError(
        f"dtype {dt} is not supported by jaxlike; use one of "
        f"{', '.join(str(d) for d in SUPPORTED)} (convert with .astype(np.float64))")


def is_float(dtype):
    return np.dtype(dtype).kind == "f"


def is_int(dtype):
    return np.dtype(dtype).kind in "iu"


def is_bool(dtype):
    return np.dtype(dtype) == bool_


def is_inexact(dtype):
    return is_float(dtype)


def weak_kind(value):
    """'bool', 'int' or 'float' for a Python scalar (a weakly typed value), else None.

    Only the exact Python types are weak: np.float64 subclasses float but is a NumPy scalar, strongly
    typed (NumPy 2: float32 array + np.float64(1) is float64).
    """
    return _WEAK.get(type(value))


_WEAK = {bool: "bool", int: "int", float: "float"}


def result_type(*items):
    """NumPy 2 promotion: items are dtypes (strong) or the strings 'bool', 'int', 'float' (weak scalars).

    A weak scalar takes the dtype of the strong operands when it fits their kind: float32 + 1.0 is float32,
    int32 + 1 is int32, int32 + 1.0 is float64. Only weak scalars: bool, int64, float64.
    """
    strong = [np.dtype(i) for i in items if not isinstance(i, str)]
    weak = [i for i in items if isinstance(i, str)]
    if strong:
        dt = strong[0]
        for other in strong[1:]:
            dt = np.promote_types(dt, other)
        dt = canonical(dt)
    else:
        dt = None
    rank = {"bool": 0, "int": 1, "float": 2}
    kind_rank = {"b": 0, "i": 1, "u": 1, "f": 2}
    top_weak = max(weak, key=rank.__getitem__) if weak else None
    if dt is None:
        return {"bool": bool_, "int": int64, "float": float64}[top_weak]
    if top_weak is None or rank[top_weak] <= kind_rank[dt.kind]:
        return dt
    return {"int": int64, "float": float64}[top_weak]
