"""Counter-based random numbers: Threefry-2x32 as pure primitives on uint32 keys.

A key is a ``u32[2]``. Nothing here has state: the same key always gives the same bits, so draws are
ordinary values that every pass (jvp, batching, simplify, codegen) treats like any other function of its
inputs. Distinct draws use distinct keys, so CSE never merges them and no ``effectful`` mark is needed.

- ``threefry2x32(k0, k1, x0, x1) -> (y0, y1)``: the Threefry-2x32 block cipher (20 rounds, Salmon et al.,
  "Parallel random numbers: as easy as 1, 2, 3", SC 2011), elementwise on uint32 arrays of one shape
  (rank-0 operands broadcast). ``split`` and ``fold_in`` are one call of it.
- ``random_bits[shape](key) -> u32[*batch, *shape]``: for a key of shape ``(*batch, 2)``, element ``i``
  (row-major flat index) of each key's block is ``y0 ^ y1`` of ``threefry2x32(key, (hi(i), lo(i)))``,
  the two 32-bit words of ``i``. Each element depends on its own index only, so a compiled loop computes it
  in place. A batch of keys is one bind: the batching rule moves the key's batch axis to the front.
"""

import numpy as np

from .. import dtypes
from ..builder import moveaxis
from ..primitive import Primitive, defbroadcasting, defzero_jvp, elementwise_shape_rule

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def threefry_2x32(k0, k1, x0, x1):
    """The NumPy reference: Threefry-2x32 with 20 rounds on broadcastable uint32 arrays."""
    k0, k1, x0, x1 = np.broadcast_arrays(*(np.asarray(a, np.uint32) for a in (k0, k1, x0, x1)))
    shape = k0.shape
    k0, k1, x0, x1 = (np.array(a, np.uint32).reshape(-1) for a in (k0, k1, x0, x1))
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    with np.errstate(over="ignore"):
        x0 = x0 + ks[0]
        x1 = x1 + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x0 += x1
                x1 = (x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))
                x1 ^= x0
            x0 += ks[(i + 1) % 3]
            x1 += ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0.reshape(shape), x1.reshape(shape)


def _bits(key, shape):
    """random_bits on a NumPy key of shape (*batch, 2): one vectorised call for the whole batch."""
    key = np.asarray(key, np.uint32)
    batch = key.shape[:-1]
    n = int(np.prod(shape, dtype=np.int64))
    count = np.arange(n, dtype=np.uint64)
    hi, lo = (count >> np.uint64(32)).astype(np.uint32), count.astype(np.uint32)
    k0, k1 = key[..., 0, None], key[..., 1, None]
    y0, y1 = threefry_2x32(k0, k1, hi, lo)
    return (y0 ^ y1).reshape(batch + tuple(shape))


# threefry2x32(k0, k1, x0, x1) -> (y0, y1) ---------------------------------------------------------------

threefry2x32_p = Primitive("threefry2x32", family="random", multiple_results=True)
_elementwise = elementwise_shape_rule("threefry2x32")


def _threefry_shape_rule(k0, k1, x0, x1):
    for a in (k0, k1, x0, x1):
        if a.dtype != dtypes.uint32:
            raise TypeError(f"threefry2x32 requires uint32 operands, got {a.dtype}")
    out = _elementwise(k0, k1, x0, x1)
    return [out, out]


threefry2x32_p.shape_rule = _threefry_shape_rule
threefry2x32_p.impl = lambda k0, k1, x0, x1: list(threefry_2x32(k0, k1, x0, x1))
defzero_jvp(threefry2x32_p)
defbroadcasting(threefry2x32_p)
_broadcast_batch = threefry2x32_p.batch
threefry2x32_p.batch = lambda args, dims: (lambda outs, d: (outs, [d, d]))(*_broadcast_batch(args, dims))


def threefry2x32(k0, k1, x0, x1):
    return threefry2x32_p.bind(k0, k1, x0, x1)


# random_bits[shape](key) -> u32[*batch, *shape] ---------------------------------------------------------

random_bits_p = Primitive("random_bits", family="random")


def _random_bits_shape_rule(key, *, shape):
    if key.dtype != dtypes.uint32 or key.ndim < 1 or key.shape[-1] != 2:
        raise TypeError(f"random_bits requires a key of dtype uint32 and shape (2,) (or (..., 2) for a "
                        f"batch of keys), got {key}")
    if any(s < 0 for s in shape):
        raise ValueError(f"random_bits: shape {shape} has a negative size")
    return key.update(shape=key.shape[:-1] + tuple(shape))


def _random_bits_batch(args, dims, *, shape):
    (key,), (d,) = args, dims
    return random_bits_p.bind(moveaxis(key, d, 0), shape=shape), 0


random_bits_p.shape_rule = _random_bits_shape_rule
random_bits_p.impl = lambda key, *, shape: _bits(key, shape)
random_bits_p.batch = _random_bits_batch
defzero_jvp(random_bits_p)


def random_bits(key, shape):
    return random_bits_p.bind(key, shape=tuple(int(s) for s in shape))


__all__ = ["threefry2x32", "random_bits", "threefry_2x32"]
