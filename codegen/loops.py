"""Loop-nest emission: each group of a GraphPlan (plan.py) becomes one internal LLVM function.

A group's function takes one ``noalias`` pointer per buffer it touches. Elementwise members are computed in
registers at the loop's index, views are read through at that index, reductions accumulate in registers
(or, for a reduction keeping the last axis, in workspace buffers walked in memory order), and the values
other groups need are stored. A group whose every access is at the loop's own index runs as one flat loop,
the shape LLVM's vectoriser likes best.
"""

import numpy as np
from llvmlite import ir

from jaxlike.ir.core import Lit

from . import emit
from .lowering import LOWERINGS, RESHAPE_VIEW
from .plan import GraphPlan, Storage  # noqa: F401  (re-exported: the planner's types)


class GroupEmitter:
    """Emits one group as an internal function; loads and stores go through its noalias arguments."""

    def __init__(self, plan, module, group, name):
        self.plan = plan
        self.module = module
        self.group = group
        self.params = []  # Storages, in argument order
        seen = set()
        for var in group.reads:
            st = plan.storage[var]
            if id(st) not in seen:
                seen.add(id(st))
                self.params.append(st)
        for st in list(group.buffers.values()) + [st for sts in (group.column or {}).values() for st in sts]:
            if id(st) not in seen:
                seen.add(id(st))
                self.params.append(st)
        stored = [plan.storage[v] for v, _ in group.stores]
        if group.copy is not None:
            stored.append(group.copy[1])
        if group.kind == "kernel":
            stored += [plan.storage[v] for v in group.members[0][0].outputs]
        for st in stored:
            if id(st) not in seen:
                seen.add(id(st))
                self.params.append(st)
        fnty = ir.FunctionType(emit.void, [emit.ptr] * len(self.params))
        self.fn = ir.Function(module, fnty, name=name)
        self.fn.linkage = "internal"
        for arg in self.fn.args:
            arg.add_attribute("noalias")
        self.pointer = {id(st): arg for st, arg in zip(self.params, self.fn.args, strict=True)}
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.regs = {}
        self.flat = False

    # ---- reading and writing elements

    def load(self, atom, idx):
        if isinstance(atom, Lit):
            return emit.const(atom.aval.dtype, atom.value)
        reg = self.regs.get(atom)
        if reg is not None:
            return reg
        st = self.group.buffers.get(atom) or self.plan.storage.get(atom)
        if st is not None:
            return emit.load_elem(self.b, atom.aval.dtype, self._address(atom, st, idx))
        info = self.plan.info[atom]
        row = LOWERINGS[info.eqn.prim.name]
        if row.kind == "alias":
            row = RESHAPE_VIEW
        return row.fn(_ViewReader(self, info.eqn), info.eqn, list(idx))

    def zeroed(self, var):
        """Is ``var`` an output the caller hands in as zeros (plan.py, ``_plan_zeroed_outputs``)?"""
        st = self.plan.storage.get(var)
        return st is not None and st.zeroed

    def has_buffer(self, atom):
        return not isinstance(atom, Lit) and (atom in self.group.buffers or atom in self.plan.storage)

    def buffer(self, atom):
        """The pointer to the buffer holding ``atom`` (a kernel operand or output)."""
        st = self.group.buffers.get(atom) or self.plan.storage[atom]
        return self.pointer[id(st)]

    def store(self, var, idx, value, st=None):
        st = st or self.plan.storage[var]
        emit.store_elem(self.b, var.aval.dtype, value, self._address(var, st, idx))

    def _address(self, atom, st, idx):
        shape = atom.aval.shape
        if not shape:
            offset = emit.index(0)
        elif self.flat:
            offset = idx[0]
        else:
            offset = emit.linear_index(self.b, idx, shape)
        return emit.gep(self.b, atom.aval.dtype, self.pointer[id(st)], offset)

    # ---- the group's loop nest

    def emit(self):
        group = self.group
        if group.kind == "kernel":
            eqn = group.members[0][0]
            LOWERINGS[eqn.prim.name].fn(self, eqn)
        elif group.kind == "copy":
            self._emit_copy()
        else:
            self._emit_loop()
        self.b.ret_void()
        return self.fn

    def _emit_copy(self):
        atom, st = self.group.copy
        shape = atom.aval.shape
        if 0 in shape:
            return
        with emit.loop_nest(self.b, shape) as ivs:
            self.store(atom, ivs, self.load(atom, ivs), st=st)

    def _emit_loop(self):
        group, b = self.group, self.b
        if 0 in group.kept_shape:
            return
        reductions = [e for e, level in group.members if level == "reduce"]
        accs = {}
        for eqn in reductions:
            row = LOWERINGS[eqn.prim.name]
            accs[eqn] = [emit.alloca_entry(b, c.type) for c in row.init(eqn)]
        if group.mask is not None:
            self._emit_masked_loop()
            return
        if group.axes is None and not group.needs_index and group.shape:
            self.flat = True  # every access is at the loop's own index: one flat loop vectorises best
            with emit.loop_nest(b, (int(np.prod(group.shape)),)) as ivs:
                self._run_members("inner", ivs, ivs)
            return
        if group.axes is None:
            with emit.loop_nest(b, group.shape) as ivs:
                self._run_members("inner", ivs, ivs)
            return
        if group.column:
            self._emit_column_loop(reductions)
            return
        axes = group.axes
        with emit.loop_nest(b, group.kept_shape, name="k") as kept:
            for eqn in reductions:
                for slot, c in zip(accs[eqn], LOWERINGS[eqn.prim.name].init(eqn), strict=True):
                    b.store(c, slot)
            if 0 not in group.reduced_shape:
                with emit.loop_nest(b, group.reduced_shape, name="r") as red:
                    full, kept_it, red_it = [], iter(kept), iter(red)
                    for d in range(len(group.shape)):
                        full.append(next(red_it) if d in axes else next(kept_it))
                    self._run_members("inner", full, full, red, accs)
            saved = dict(self.regs)
            for eqn in reductions:
                row = LOWERINGS[eqn.prim.name]
                values = [b.load(slot, typ=c.type) for slot, c in zip(accs[eqn], row.init(eqn))]
                self.regs[eqn.outputs[0]] = row.finish(b, eqn, values)
            self._run_members("outer", kept, kept)
            self.regs = saved

    def _emit_masked_loop(self):
        """The positions where i_a - i_b == k, and no others: i_b follows i_a (a < b). The output is zeros
        elsewhere already (plan.py, ``_plan_zeroed_outputs``)."""
        a, axis, k = self.group.mask
        shape, b = self.group.shape, self.b
        with emit.loop_nest(b, shape[:axis] + shape[axis + 1:]) as ivs:
            i = b.sub(ivs[a], emit.index(k))
            with b.if_then(b.icmp_unsigned("<", i, emit.index(shape[axis]))):  # 0 <= i < n, unsigned
                full = list(ivs[:axis]) + [i] + list(ivs[axis:])
                self._run_members("inner", full, full)

    def _emit_column_loop(self, reductions):
        group, b = self.group, self.b
        axes, kept_shape = group.axes, group.kept_shape

        def slots(kept):
            at = emit.linear_index(b, kept, kept_shape)
            out = {}
            for eqn in reductions:
                inits = LOWERINGS[eqn.prim.name].init(eqn)
                out[eqn] = [b.gep(self.pointer[id(st)], [at], source_etype=c.type, inbounds=True)
                            for st, c in zip(group.column[eqn], inits, strict=True)]
            return out

        with emit.loop_nest(b, kept_shape, name="a") as kept:
            accs = slots(kept)
            for eqn in reductions:
                for slot, c in zip(accs[eqn], LOWERINGS[eqn.prim.name].init(eqn), strict=True):
                    b.store(c, slot)
        if 0 not in group.reduced_shape:
            with emit.loop_nest(b, group.shape, name="m") as full:
                kept = [iv for d, iv in enumerate(full) if d not in axes]
                red = [full[d] for d in axes]
                self._run_members("inner", full, full, red, slots(kept))
        with emit.loop_nest(b, kept_shape, name="e") as kept:
            accs = slots(kept)
            saved = dict(self.regs)
            for eqn in reductions:
                row = LOWERINGS[eqn.prim.name]
                values = [b.load(slot, typ=c.type) for slot, c in zip(accs[eqn], row.init(eqn))]
                self.regs[eqn.outputs[0]] = row.finish(b, eqn, values)
            self._run_members("outer", kept, kept)
            self.regs = saved

    def _run_members(self, level, idx, store_idx, red=None, accs=None):
        b = self.b
        saved = dict(self.regs)
        for eqn, lvl in self.group.members:
            if lvl == "reduce" and level == "inner":
                row = LOWERINGS[eqn.prim.name]
                slots = accs[eqn]
                inits = row.init(eqn)
                current = [b.load(s, typ=c.type) for s, c in zip(slots, inits, strict=True)]
                value = self.load(eqn.inputs[0], idx)
                for s, v in zip(slots, row.combine(b, eqn, current, value, red), strict=True):
                    b.store(v, s)
                continue
            if lvl != level:
                continue
            row = LOWERINGS[eqn.prim.name]
            out = eqn.outputs[0]
            if row.kind == "elementwise":
                value = row.fn(b, eqn, [self.load(a, idx) for a in eqn.inputs])
                if eqn.prim.multiple_results:
                    self.regs.update(zip(eqn.outputs, value, strict=True))
                    continue
                self.regs[out] = value
            elif row.kind == "reduce":  # a reduction over no axes is the identity
                self.regs[out] = self.load(eqn.inputs[0], idx)
            else:  # a view evaluated at the loop's index
                row = RESHAPE_VIEW if row.kind == "alias" else row
                self.regs[out] = row.fn(_ViewReader(self, eqn), eqn, list(idx))
        for var, lvl in self.group.stores:
            if lvl == level:
                self.store(var, store_idx, self.regs[var])
        if level == "inner":
            self.regs = saved


class _ViewReader:
    """What a View row sees: the builder and ``load(i, idx)`` of the equation's i-th operand."""

    def __init__(self, emitter, eqn):
        self.emitter = emitter
        self.eqn = eqn
        self.b = emitter.b

    def load(self, i, idx):
        return self.emitter.load(self.eqn.inputs[i], idx)


def emit_groups(plan, module, prefix):
    """Emit every group of ``plan`` as an internal function; returns the GroupEmitters in order."""
    emitters = []
    for group in plan.groups:
        e = GroupEmitter(plan, module, group, f"{prefix}_k{group.index}")
        e.emit()
        emitters.append(e)
    return emitters


def emit_calls(b, emitters, pointer_of):
    """Call each group in order; ``pointer_of(storage)`` gives the LLVM pointer for a buffer."""
    for e in emitters:
        b.call(e.fn, [pointer_of(st) for st in e.params])
