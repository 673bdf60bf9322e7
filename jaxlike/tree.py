"""Pytrees: nested tuples, lists, dicts, namedtuples and registered classes, with None as an empty node.

``flatten(tree) -> (leaves, treedef)``; ``treedef.unflatten(leaves)``; ``tree_map``; ``register_pytree_node``.
Treedefs are hashable and compare by structure, so they can be part of a cache key. Leaf paths
(``keystr``) name arguments in error messages: ``x[1]['w']``.
"""

_REGISTRY = {}  # type -> (to_children(obj) -> (children, aux), from_children(aux, children))


def register_pytree_node(cls, flatten_fn, unflatten_fn):
    """Make instances of ``cls`` pytree nodes: ``flatten_fn(obj) -> (children, aux)``,
    ``unflatten_fn(aux, children) -> obj``. aux must be hashable."""
    _REGISTRY[cls] = (flatten_fn, unflatten_fn)
    return cls


def register_pytree_node_class(cls):
    """Class decorator: the class defines ``tree_flatten(self)`` and classmethod ``tree_unflatten``."""
    return register_pytree_node(cls, lambda obj: obj.tree_flatten(), cls.tree_unflatten)


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _node(x):
    """(kind, aux, children, child keys) for an inner node, or None for a leaf."""
    if x is None:
        return ("none", None, [], [])
    t = type(x)
    if t in _REGISTRY:
        children, aux = _REGISTRY[t][0](x)
        children = list(children)
        return (t, aux, children, [f".<{i}>" for i in range(len(children))])
    if _is_namedtuple(x):
        return (t, None, list(x), [f".{f}" for f in t._fields])
    if t is tuple or t is list:
        return (t, None, list(x), [f"[{i}]" for i in range(len(x))])
    if t is dict:
        keys = sorted(x, key=_sort_key)
        return (dict, tuple(keys), [x[k] for k in keys], [f"[{k!r}]" for k in keys])
    return None


def _sort_key(k):
    return (type(k).__name__, k)


class TreeDef:
    """The structure of a pytree without its leaves."""

    __slots__ = ("kind", "aux", "children", "num_leaves")

    def __init__(self, kind, aux, children):
        self.kind = kind  # "leaf", "none", a type
        self.aux = aux
        self.children = tuple(children)
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in self.children)

    def _key(self):
        return (self.kind, self.aux, self.children)

    def __eq__(self, other):
        return isinstance(other, TreeDef) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"PyTreeDef({self._text()})"

    def _text(self):
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(c._text() for c in self.children)
        if self.kind is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        if self.kind is list:
            return f"[{inner}]"
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {c._text()}" for k, c in zip(self.aux, self.children)) + "}"
        return f"{self.kind.__name__}({inner})"

    def unflatten(self, leaves):
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"{self} expects {self.num_leaves} leaves, got {len(leaves)}")
        it = iter(leaves)
        return self._build(it)

    def _build(self, it):
        # Recursion follows the nesting depth of the user's structure, which is small.
        if self.kind == "leaf":
            return next(it)
        if self.kind == "none":
            return None
        kids = [c._build(it) for c in self.children]
        if self.kind is dict:
            return dict(zip(self.aux, kids))
        if self.kind in (tuple, list):
            return self.kind(kids)
        if self.kind in _REGISTRY:
            return _REGISTRY[self.kind][1](self.aux, kids)
        return self.kind(*kids)  # namedtuple

    @property
    def is_leaf(self):
        return self.kind == "leaf"

    def child_treedefs(self):
        return list(self.children)


LEAF = TreeDef("leaf", None, ())


def flatten(tree, is_leaf=None):
    leaves = []

    def go(x):
        if is_leaf is not None and is_leaf(x):
            leaves.append(x)
            return LEAF
        node = _node(x)
        if node is None:
            leaves.append(x)
            return LEAF
        kind, aux, children, _ = node
        return TreeDef(kind, aux, [go(c) for c in children])

    return leaves, go(tree)


def flatten_with_paths(tree, prefix=""):
    """[(path string, leaf)] in flatten order, e.g. ("[0]['w']", array)."""
    out = []

    def go(x, path):
        node = _node(x)
        if node is None:
            out.append((path, x))
            return
        for child, key in zip(node[2], node[3]):
            go(child, path + key)

    go(tree, prefix)
    return out


def unflatten(treedef, leaves):
    return treedef.unflatten(leaves)


def leaves(tree):
    return flatten(tree)[0]


def structure(tree):
    return flatten(tree)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    flat, treedef = flatten(tree, is_leaf)
    others = [_flatten_like(treedef, r) for r in rest]
    return treedef.unflatten(f(*xs) for xs in zip(flat, *others))


def _flatten_like(treedef, tree):
    flat, other = flatten(tree)
    if other != treedef:
        raise ValueError(f"tree structures differ: {treedef} and {other}")
    return flat


def broadcast_prefix(prefix, tree, is_leaf=None, name="in_dims"):
    """Expand a prefix tree (e.g. in_dims) to one entry per leaf of ``tree``.

    Each leaf of ``prefix`` (None counts as a leaf here) applies to the whole subtree at its position.
    """
    out = []

    def go(p, t, path):
        if p is None or _node(p) is None or (is_leaf is not None and is_leaf(p)):
            out.extend([p] * len(flatten(t)[0]))
            return
        pn, tn = _node(p), _node(t)
        if tn is None or pn[0] != tn[0] or pn[1] != tn[1] or len(pn[2]) != len(tn[2]):
            raise ValueError(
                f"{name}{path or ''} has structure {structure(p)} but the value there has structure "
                f"{structure(t)}; {name} must be a prefix of the arguments' structure (an int or None "
                "applies to a whole subtree)")
        for pc, tc, key in zip(pn[2], tn[2], pn[3]):
            go(pc, tc, path + key)

    go(prefix, tree, "")
    return out

