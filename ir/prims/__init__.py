"""The primitive families. Importing this package registers every primitive in ir.primitive.PRIMITIVES."""

# registration order is table order
from . import unary, binary, shape, reduce, misc, indexing, linalg  # noqa: F401
from . import random  # noqa: F401,E402
from . import custom  # noqa: F401,E402
from . import control  # noqa: F401,E402  (cond, while, scan: nested graphs, all rules)
