"""Fusion and workspace planning for one Graph.

Planning walks the equations once, in order (no recursion per equation), and puts each one in a *group*:
one loop nest, emitted (loops.py) as one internal LLVM function whose buffer arguments are all ``noalias``.

- Elementwise equations join the group of their operands when the iteration space matches and every
  other operand is ready before that group runs; their values stay in registers. A value needed by a
  later group is also stored to a buffer.
- Reductions join the group of their operand: the loop nest becomes "kept axes outside, reduced axes
  inside", the accumulators live in registers, and elementwise equations on the reduced shape run in the
  epilogue of the inner loop (``mean = sum / n`` is one loop).
- Views (broadcast_in_dim, transpose, slice, pad, gather, iota, ...) are never materialised: a consumer
  reads through them at its own index. Reshapes of a buffer are aliases of the same bytes.
- Kernels (dot_general, cumsum, scatter, concatenate) are groups of their own.

Buffers that are neither inputs nor outputs live in one workspace; a slot is reused once the value in
it is dead (first fit on lifetimes measured in groups). The caller provides the workspace per call, so a
compiled function is safe to run on several threads at once.

Nested graphs (the bodies of cond / while / scan, to come) plan with the same ``GraphPlan`` and emit
their groups with ``emit_calls`` inside a loop or branch of the enclosing function: a region, never
unrolled. Their workspace is a sub-range of the enclosing one.
"""

import numpy as np
from llvmlite import ir

from jaxlike.ir.core import Lit

from .lowering import LOWERINGS

MAX_VIEW_DEPTH = 8  # a chain of views longer than this is materialised (bounds the emitter's recursion)
ALIGN = 64


class Storage:
    """A buffer: an argument, an output, a constant or a workspace slot."""

    __slots__ = ("kind", "index", "nbytes", "ready", "end", "offset", "array", "zeroed")

    def __init__(self, kind, nbytes, ready, index=None, array=None):
        self.kind = kind  # "arg" | "out" | "const" | "ws"
        self.index = index
        self.nbytes = int(nbytes)
        self.ready = ready  # index of the group that writes it; -1 when it exists before the call
        self.end = ready  # index of the last group that reads it
        self.offset = None
        self.array = array
        self.zeroed = False  # an output the caller hands in as zeros (see GraphPlan._plan_zeroed_outputs)

    def __repr__(self):
        return f"Storage({self.kind}, {self.index}, {self.nbytes}B, {self.ready}..{self.end})"


class Group:
    """One loop nest: elementwise/view members, reductions, or one kernel equation."""

    def __init__(self, index, shape, kind="loop"):
        self.index = index
        self.kind = kind  # "loop" | "kernel" | "copy"
        self.shape = tuple(shape)  # the full iteration space
        self.axes = None  # reduced axes once a reduction joined
        self.members = []  # (eqn, level) in program order; level is "inner" or "outer"
        self.reads = []  # vars whose buffers this group reads
        self.stores = []  # (var, level) stored by this group
        self.needs_index = False  # a member reads through a view: multi-dimensional loops required
        self.copy = None  # (atom, Storage) for a copy group
        self.buffers = {}  # atom -> Storage: operands of a kernel read from a copy made for it
        self.column = None  # reduction eqn -> accumulator Storages, when reducing in memory order
        self.mask = None  # (a, b, k): the loop runs only where i_a - i_b == k (a masked output)

    def level_of(self, shape):
        if self.kind != "loop":
            return None
        if self.axes is None:
            return "inner" if tuple(shape) == self.shape else None
        if tuple(shape) == self.shape:
            return "inner"
        if tuple(shape) == self.kept_shape:
            return "outer"
        return None

    @property
    def kept_shape(self):
        return tuple(n for d, n in enumerate(self.shape) if d not in (self.axes or ()))

    @property
    def reduced_shape(self):
        return tuple(self.shape[d] for d in (self.axes or ()))


class Info:
    """Where a Var's value comes from."""

    __slots__ = ("kind", "group", "level", "eqn", "depth", "leaves")

    def __init__(self, kind, group=None, level=None, eqn=None, depth=0, leaves=()):
        self.kind = kind  # "buf" | "fused" | "view"
        self.group = group
        self.level = level
        self.eqn = eqn
        self.depth = depth
        self.leaves = leaves


def _nbytes(aval):
    return aval.size * np.dtype(aval.dtype).itemsize


class GraphPlan:
    """The groups of a Graph, the storage of every materialised Var, and the workspace layout."""

    def __init__(self, graph, zeroed_outputs=False):
        self.graph = graph
        self.groups = []
        self.info = {}
        self.storage = {}  # Var -> Storage
        self.out_storage = []  # per graph output
        self.extra = []  # workspace copies made for kernels that need their operands in buffers
        for i, var in enumerate(graph.inputs):
            self._buf(var, Storage("arg", _nbytes(var.aval), -1, index=i))
        for var, value in graph.consts.items():
            arr = np.ascontiguousarray(value, dtype=var.aval.dtype)
            self._buf(var, Storage("const", arr.nbytes, -1, index=len(self.storage), array=arr))
        for eqn in graph.eqns:
            self._plan(eqn)
        self._plan_outputs()
        if zeroed_outputs:
            self._plan_zeroed_outputs()
        self._plan_column_reductions()
        self.workspace_size = self._layout()

    # ---- bookkeeping

    def _buf(self, var, storage):
        self.info[var] = Info("buf")
        self.storage[var] = storage

    def _new_group(self, shape, kind="loop"):
        g = Group(len(self.groups), shape, kind)
        self.groups.append(g)
        return g

    def _ready(self, atom):
        """Index of the last group that must run before ``atom`` can be read."""
        if isinstance(atom, Lit):
            return -1
        info = self.info[atom]
        if info.kind == "buf":
            return self.storage[atom].ready
        if info.kind == "fused":
            return info.group.index
        return max((self._ready(v) for v in info.leaves), default=-1)

    def _readable_in(self, atom, group, level):
        """Can a member of ``group`` at ``level`` read ``atom`` at its own index?"""
        if isinstance(atom, Lit):
            return True
        info = self.info[atom]
        if info.kind == "fused" and info.group is group:
            return info.level == level
        return self._ready(atom) < group.index

    def _materialize(self, var):
        """Make a fused Var's value available in a buffer after its group (stored by that group)."""
        info = self.info[var]
        if info.kind == "fused" and var not in self.storage:
            self.storage[var] = Storage("ws", _nbytes(var.aval), info.group.index)
            info.group.stores.append((var, info.level))

    def _read(self, atom, group):
        """``group`` reads ``atom`` from outside itself: record which buffers that touches."""
        if isinstance(atom, Lit):
            return
        info = self.info[atom]
        if info.kind == "fused" and info.group is group:
            return
        if info.kind == "view":
            group.needs_index = True
            for leaf in info.leaves:
                self._read(leaf, group)
            return
        self._materialize(atom)
        group.reads.append(atom)

    def _join(self, group, eqn, level):
        for atom in eqn.inputs:
            self._read(atom, group)
        group.members.append((eqn, level))
        for var in eqn.outputs:
            self.info[var] = Info("fused", group, level)

    # ---- planning, one equation at a time

    def _plan(self, eqn):
        row = LOWERINGS.get(eqn.prim.name)
        if row is None:
            raise NotImplementedError(
                f"jaxlike.jit cannot compile the primitive {eqn.prim.name!r} yet; call the function "
                "without jit (it runs on the interpreter) or file an issue")
        kind = row.kind
        if kind == "alias":
            (x,) = eqn.inputs
            if isinstance(x, Lit) or self.info[x].kind == "view":
                kind = "view"
            else:
                self._materialize(x)
                self.info[eqn.outputs[0]] = Info("buf")
                self.storage[eqn.outputs[0]] = self.storage[x]
                return
        if kind == "view":
            self._plan_view(eqn)
        elif kind == "elementwise":
            self._plan_elementwise(eqn)
        elif kind == "reduce":
            self._plan_reduce(eqn, row)
        else:
            self._plan_kernel(eqn)

    def _plan_view(self, eqn):
        depth, leaves = 1, []
        for atom in eqn.inputs:
            if isinstance(atom, Lit):
                continue
            info = self.info[atom]
            if info.kind == "view":
                depth = max(depth, info.depth + 1)
                leaves.extend(v for v in info.leaves if v not in leaves)
            elif atom not in leaves:
                leaves.append(atom)
        out = eqn.outputs[0]
        if depth <= MAX_VIEW_DEPTH:
            self.info[out] = Info("view", eqn=eqn, depth=depth, leaves=tuple(leaves))
            return
        group = self._new_group(out.aval.shape)  # too deep: evaluate it in a loop of its own
        self._join(group, eqn, "inner")

    def _candidates(self, eqn):
        groups = {self.info[a].group.index: self.info[a].group for a in eqn.inputs
                  if not isinstance(a, Lit) and self.info[a].kind == "fused"}
        if groups:
            return [groups[max(groups)]]
        return self.groups[-1:]  # no fused operand: try the latest loop (sibling fusion)

    def _plan_elementwise(self, eqn):
        shape = eqn.outputs[0].aval.shape
        for group in self._candidates(eqn):
            level = group.level_of(shape)
            if level and all(self._readable_in(a, group, level) for a in eqn.inputs):
                self._join(group, eqn, level)
                return
        self._join(self._new_group(shape), eqn, "inner")

    def _plan_reduce(self, eqn, row):
        axes = tuple(row.axes(eqn))
        (x,) = eqn.inputs
        shape = x.aval.shape
        if not axes:
            self._plan_elementwise(eqn)  # nothing reduced: a copy, emitted as the identity
            return
        for group in self._candidates(eqn):
            if (group.kind == "loop" and group.shape == shape and group.axes in (None, axes)
                    and self._readable_in(x, group, "inner")):
                group.axes = axes
                self._join_reduction(group, eqn)
                return
        group = self._new_group(shape)
        group.axes = axes
        self._join_reduction(group, eqn)

    def _join_reduction(self, group, eqn):
        group.needs_index = True
        self._read(eqn.inputs[0], group)
        group.members.append((eqn, "reduce"))
        for var in eqn.outputs:
            self.info[var] = Info("fused", group, "outer")

    def _plan_kernel(self, eqn):
        row = LOWERINGS[eqn.prim.name]
        copies = {}
        if row.needs_buffers(eqn):  # views and literals are copied to buffers first
            for atom in eqn.inputs:
                if (isinstance(atom, Lit) or self.info[atom].kind == "view") and atom not in copies:
                    copy = self._new_group(atom.aval.shape, kind="copy")
                    copy.needs_index = True
                    self._read(atom, copy)
                    st = Storage("ws", _nbytes(atom.aval), copy.index)
                    copy.copy = (atom, st)
                    self.extra.append(st)
                    copies[atom] = st
        group = self._new_group((), kind="kernel")
        group.needs_index = True
        for atom in eqn.inputs:
            st = copies.get(atom)
            if st is not None:
                group.buffers[atom] = st
                st.end = group.index
                continue
            self._read(atom, group)
        group.members.append((eqn, "kernel"))
        for var in eqn.outputs:
            self._buf(var, Storage("ws", _nbytes(var.aval), group.index))

    def _plan_outputs(self):
        claimed = set()
        for j, atom in enumerate(self.graph.outputs):
            if not isinstance(atom, Lit):
                info = self.info[atom]
                if info.kind == "fused" and atom not in self.storage:
                    self.storage[atom] = Storage("out", _nbytes(atom.aval), info.group.index, index=j)
                    info.group.stores.append((atom, info.level))
                    claimed.add(id(self.storage[atom]))
                    self.out_storage.append(self.storage[atom])
                    continue
                st = self.storage.get(atom)
                if st is not None and st.kind == "ws" and id(st) not in claimed:
                    st.kind, st.index = "out", j
                    claimed.add(id(st))
                    self.out_storage.append(st)
                    continue
            # an input, a constant, a literal, a view or a repeated output: copied into its own buffer
            aval = atom.aval
            group = self._new_group(aval.shape, kind="copy")
            group.needs_index = True
            self._read(atom, group)
            st = Storage("out", _nbytes(aval), group.index, index=j)
            group.copy = (atom, st)
            self.out_storage.append(st)

    def _plan_zeroed_outputs(self):
        """Outputs that are mostly zeros are handed in as zeros by the caller (a fresh one from NumPy's
        calloc, whose pages are not even touched until written; ``out=`` cleared by a memset), and the
        group that computes one writes its non-zeros only:

        - ``select(i_a - i_b == k, x, 0)``, the diagonal of a jacfwd or jacrev of an elementwise function
          (k ≠ 0 for a chunk of rows): the loop runs over the mask's positions, n for an n×n diagonal;
        - ``scatter(zeros, indices, updates)``, a sparse Jacobian made dense: no copy of the zeros first.

        Only for a top-level graph (``zeroed_outputs``): the caller of a nested region does not zero."""
        for group in self.groups:
            if group.kind == "kernel":
                eqn = group.members[0][0]
                st = self.storage[eqn.outputs[0]]
                if (eqn.prim.name in ("scatter", "scatter_add") and st.kind == "out"
                        and self._is_zero(eqn.inputs[0])):
                    st.zeroed = True
                continue
            if group.kind != "loop" or group.axes is not None or not group.stores:
                continue
            made = {out: eqn for eqn, _ in group.members for out in eqn.outputs}
            masks = {self._output_mask(var, level, made) for var, level in group.stores}
            if len(masks) == 1 and None not in masks:  # every value the loop stores, on one mask
                group.mask = masks.pop()
                for var, _ in group.stores:
                    self.storage[var].zeroed = True

    def _output_mask(self, var, level, made):
        """(a, b, k) when ``var`` is an output ``select(i_a - i_b == k, x, 0)`` made in the group, else None."""
        if self.storage[var].kind != "out" or level != "inner":
            return None
        select = made.get(var)
        if select is None or select.prim.name != "select" or not self._is_zero(select.inputs[2]):
            return None
        compare = made.get(select.inputs[0])
        if compare is None or compare.prim.name != "eq":
            return None
        left, right = (self._affine_iota(x, made) for x in compare.inputs)
        if left is None or right is None or left[0] == right[0]:
            return None
        (da, ca), (db, cb) = left, right  # i_da + ca == i_db + cb  ⇔  i_da - i_db == cb - ca
        return (da, db, cb - ca) if da < db else (db, da, ca - cb)

    def _affine_iota(self, atom, made):
        """(dimension, c) when ``atom`` is ``iota + c`` over the whole group (c a static integer)."""
        if isinstance(atom, Lit):
            return None
        info = self.info[atom]
        if info.kind == "view" and info.eqn.prim.name == "iota":
            return info.eqn.params["dimension"], 0
        eqn = made.get(atom)
        if eqn is None or eqn.prim.name not in ("add", "sub"):
            return None
        x, c = eqn.inputs
        if eqn.prim.name == "add" and isinstance(x, Lit):
            x, c = c, x
        inner = None if isinstance(x, Lit) else self.info[x]
        if (inner is None or inner.kind != "view" or inner.eqn.prim.name != "iota" or not isinstance(c, Lit)
                or np.asarray(c.value).dtype.kind not in "iu"):
            return None
        return inner.eqn.params["dimension"], int(c.value) * (1 if eqn.prim.name == "add" else -1)

    def _is_zero(self, atom):
        if not isinstance(atom, Lit):
            info = self.info[atom]
            if info.kind != "view" or info.eqn.prim.name != "broadcast_in_dim":
                return False
            atom = info.eqn.inputs[0]
        return isinstance(atom, Lit) and atom.value == 0

    def _plan_column_reductions(self):
        """Reductions that keep the last axis run in memory order, accumulating into buffers.

        Register accumulators need the reduced axes innermost, which walks memory with a stride when a
        kept axis comes last (a column sum). There the loop nest follows memory instead, vectorises along
        the kept axis, and keeps one accumulator per output element in the workspace.
        """
        for group in self.groups:
            if group.kind != "loop" or not group.axes:
                continue
            last_kept = group.shape and (len(group.shape) - 1) not in group.axes
            if not (last_kept and np.prod(group.kept_shape) > 1 and np.prod(group.reduced_shape) > 1):
                continue
            group.column = {}
            size = int(np.prod(group.kept_shape))
            for eqn, level in group.members:
                if level == "reduce":
                    inits = LOWERINGS[eqn.prim.name].init(eqn)
                    sts = [Storage("ws", size * _type_bytes(c.type), group.index) for c in inits]
                    self.extra.extend(sts)
                    group.column[eqn] = sts

    # ---- workspace

    def _layout(self):
        slots = {id(st): st for st in list(self.storage.values()) + self.extra if st.kind == "ws"}
        for group in self.groups:
            for var in group.reads:
                st = self.storage[var]
                st.end = max(st.end, group.index)
        free = []  # (offset, size) blocks of the workspace, reusable
        top = 0
        live = []
        for st in sorted(slots.values(), key=lambda s: (s.ready, -s.nbytes)):
            # release every slot whose last reader ran strictly before this one is written
            still = []
            for other in live:
                if other.end < st.ready:
                    free.append((other.offset, _round(other.nbytes)))
                else:
                    still.append(other)
            live = still
            size = _round(st.nbytes)
            best = None
            for k, (off, cap) in enumerate(free):
                if cap >= size and (best is None or cap < free[best][1]):
                    best = k
            if best is not None:
                off, cap = free.pop(best)
                st.offset = off
                if cap > size:
                    free.append((off + size, cap - size))
            else:
                st.offset = top
                top += size
            live.append(st)
        return top


def _type_bytes(t):
    if isinstance(t, ir.IntType):
        return max(1, t.width // 8)
    return 8 if isinstance(t, ir.DoubleType) else 4


def _round(n):
    return max(ALIGN, (n + ALIGN - 1) // ALIGN * ALIGN)
