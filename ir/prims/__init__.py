"""The primitive families. Importing this package registers every primitive in ir.primitive.PRIMITIVES."""

from . import unary, binary, shape, reduce  # noqa: F401  (registration order is table order)
