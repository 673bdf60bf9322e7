"""Control flow and calls: nested Graphs emitted as regions of the enclosing function.

A region is a nested Graph planned with its own ``GraphPlan`` (fusion and workspace as for a top-level
graph), its groups emitted as internal functions, and their calls emitted at the current point of the
enclosing kernel: inside a real loop (while, scan) or a branch of a switch (cond). Nothing is unrolled: a
loop body is emitted once whatever the trip count. The region's workspace is allocated in the enclosing
function's entry block, so every call of the compiled function has its own.

- ``cond``: the index is clamped to the branches, then a ``switch`` jumps to one region per branch, each
  writing the outputs.
- ``while``: the carry lives in the output buffers; each step evaluates ``cond_graph`` into a flag, runs
  ``body_graph`` into a scratch carry, and copies it back (the body reads the old carry while it writes the
  new one). ``max_steps`` bounds the steps when set.
- ``scan``: the same carry discipline; the i-th slices of the scanned operands and of the stacked outputs
  are pointers into their buffers, never copies.
- ``custom_jvp_call`` / ``custom_vjp_call``: the primal ``call`` graph, emitted in place.
"""

from llvmlite import ir

from jaxlike.ir import dtypes

from . import emit
from .emit import i8, i64, ptr

STACK_SCRATCH = 1 << 18  # bytes of a region's workspace placed on the stack; more is heap-allocated


def _scratch(k, nbytes, cleanup):
    """``nbytes`` of per-call memory: an entry-block alloca when small, else a heap block freed at the end."""
    b = k.b
    if nbytes <= STACK_SCRATCH:
        slot = emit.alloca_entry(b, ir.ArrayType(i8, max(int(nbytes), 1)))
        slot.align = 64
        return slot
    malloc = emit.declare(b.module, "PyMem_RawMalloc", ptr, [i64])
    with b.goto_entry_block():
        mem = b.call(malloc, [emit.index(nbytes)])
    cleanup.append(mem)
    return mem


def _free_all(k, cleanup):
    free = emit.declare(k.b.module, "PyMem_RawFree", emit.void, [ptr])
    for mem in cleanup:
        k.b.call(free, [mem])


def emit_region(k, graph, in_ptrs, out_ptrs, cleanup):
    """Emit ``graph`` at the builder's position, reading ``in_ptrs`` and writing ``out_ptrs``."""
    from .loops import GraphPlan, emit_calls, emit_groups
    from .runtime import _constant

    plan = GraphPlan(graph)
    module = k.b.module
    emitters = emit_groups(plan, module, emit.fresh_name(module, "r"))
    ws = _scratch(k, plan.workspace_size, cleanup) if plan.workspace_size else None
    consts = {}
    b = k.b

    def pointer_of(st):
        if st.kind == "arg":
            return in_ptrs[st.index]
        if st.kind == "out":
            return out_ptrs[st.index]
        if st.kind == "ws":
            return b.gep(ws, [emit.index(st.offset)], source_etype=i8, inbounds=True)
        if id(st) not in consts:
            consts[id(st)] = _constant(module, b, st)
        return consts[id(st)]

    emit_calls(b, emitters, pointer_of)


def _memcpy(b, dst, src, nbytes):
    if nbytes:
        fn = emit.declare(b.module, "llvm.memcpy.p0.p0.i64", emit.void, [ptr, ptr, i64, emit.i1])
        b.call(fn, [dst, src, emit.index(nbytes), ir.Constant(emit.i1, 0)])


def _nbytes(aval):
    return aval.size * aval.dtype.itemsize


def _slice(b, base, aval, pos):
    """The pointer to ``x[pos]`` of a contiguous buffer ``x`` of ``aval``."""
    inner = aval.size // aval.shape[0] if aval.shape[0] else 0
    return emit.gep(b, aval.dtype, base, b.mul(pos, emit.index(inner)))


def emit_cond(k, eqn):
    b = k.b
    index, *ops = eqn.inputs
    branches = eqn.params["branches"]
    cleanup = []
    raw = k.load(index, [])
    if raw.type != i64:
        raw = b.zext(raw, i64) if (dtypes.is_bool(index.aval.dtype) or index.aval.dtype.kind == "u") \
            else b.sext(raw, i64)
    which = emit.clamp(b, raw, emit.index(0), emit.index(len(branches) - 1))
    in_ptrs = [k.buffer(op) for op in ops]
    out_ptrs = [k.buffer(o) for o in eqn.outputs]
    end = b.append_basic_block("cond.end")
    blocks = [b.append_basic_block(f"cond.branch{i}") for i in range(len(branches))]
    switch = b.switch(which, blocks[-1])
    for i, block in enumerate(blocks[:-1]):
        switch.add_case(emit.index(i), block)
    for branch, block in zip(branches, blocks, strict=True):
        b.position_at_end(block)
        emit_region(k, branch, in_ptrs, out_ptrs, cleanup)
        b.branch(end)
    b.position_at_end(end)
    _free_all(k, cleanup)


def emit_while(k, eqn):
    b = k.b
    p = eqn.params
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    ptrs = [k.buffer(a) for a in eqn.inputs]
    cconsts, bconsts, init = ptrs[:nc], ptrs[nc:nc + nb], ptrs[nc + nb:]
    carry = [k.buffer(o) for o in eqn.outputs]
    cleanup = []
    sizes = [_nbytes(o.aval) for o in eqn.outputs]
    for dst, src, n in zip(carry, init, sizes, strict=True):
        _memcpy(b, dst, src, n)
    scratch = [_scratch(k, n, cleanup) for n in sizes]
    flag = emit.alloca_entry(b, i8)
    steps = emit.alloca_entry(b, i64)
    b.store(emit.index(0), steps)
    head = b.append_basic_block("while.head")
    body = b.append_basic_block("while.body")
    end = b.append_basic_block("while.end")
    b.branch(head)
    b.position_at_end(head)
    emit_region(k, p["cond_graph"], cconsts + carry, [flag], cleanup)
    go = b.icmp_unsigned("!=", b.load(flag, typ=i8), ir.Constant(i8, 0))
    if p["max_steps"] is not None:
        go = b.and_(go, b.icmp_signed("<", b.load(steps, typ=i64), emit.index(p["max_steps"])))
    b.cbranch(go, body, end)
    b.position_at_end(body)
    emit_region(k, p["body_graph"], bconsts + carry, scratch, cleanup)
    for dst, src, n in zip(carry, scratch, sizes, strict=True):
        _memcpy(b, dst, src, n)
    b.store(b.add(b.load(steps, typ=i64), emit.index(1)), steps)
    emit.no_unroll(b.branch(head))  # a runtime trip count: one body, never unrolled
    b.position_at_end(end)
    _free_all(k, cleanup)


def emit_scan(k, eqn):
    b = k.b
    p = eqn.params
    length, reverse, nconsts, ncarry = p["length"], p["reverse"], p["num_consts"], p["num_carry"]
    ptrs = [k.buffer(a) for a in eqn.inputs]
    consts, init, xs = ptrs[:nconsts], ptrs[nconsts:nconsts + ncarry], ptrs[nconsts + ncarry:]
    x_avals = [a.aval for a in eqn.inputs[nconsts + ncarry:]]
    outs = [k.buffer(o) for o in eqn.outputs]
    carry, ys = outs[:ncarry], outs[ncarry:]
    y_avals = [o.aval for o in eqn.outputs[ncarry:]]
    sizes = [_nbytes(o.aval) for o in eqn.outputs[:ncarry]]
    cleanup = []
    for dst, src, n in zip(carry, init, sizes, strict=True):
        _memcpy(b, dst, src, n)
    if length:
        scratch = [_scratch(k, n, cleanup) for n in sizes]
        unroll = length <= emit.UNROLL_MAX_TRIPS
        with emit.for_range(b, length, name="scan", unroll=unroll) as i:
            pos = b.sub(emit.index(length - 1), i) if reverse else i
            x_slices = [_slice(b, x, a, pos) for x, a in zip(xs, x_avals, strict=True)]
            y_slices = [_slice(b, y, a, pos) for y, a in zip(ys, y_avals, strict=True)]
            emit_region(k, p["body"], consts + carry + x_slices, scratch + y_slices, cleanup)
            for dst, src, n in zip(carry, scratch, sizes, strict=True):
                _memcpy(b, dst, src, n)
    _free_all(k, cleanup)


def emit_call(k, eqn):
    """custom_jvp_call / custom_vjp_call: the primal graph, in place."""
    cleanup = []
    emit_region(k, eqn.params["call"], [k.buffer(a) for a in eqn.inputs],
                [k.buffer(o) for o in eqn.outputs], cleanup)
    _free_all(k, cleanup)


def emit_custom_lin(k, eqn):
    from jaxlike.ir.prims.custom import _forward_mode_error
    raise _forward_mode_error(eqn.params.get("name", "of this custom_vjp function"))
