"""Structured control flow: cond, while and scan. Their bodies are nested Graphs in their params.

    cond[branches](index, *operands)                      branches[clamp(index)](*operands)
    while[cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps](*cond_consts, *body_consts, *init)
    scan[body, length, reverse, num_consts, num_carry](*consts, *init, *xs)

One file per construct, each primitive's rules together: cond.py (cond), loops.py (while and scan);
bodies.py holds what they share (each pass applied to a nested Graph). This module gathers the builders.

A body is a closed Graph: what it reads from outside is an explicit operand (the ``consts`` of a loop). Each
rule transforms the bodies with the pass it implements (``jvp_eval``, ``batch_eval``, ``partial_eval``,
``backward_pass``, ``dce``) inside a trace of its own, so a loop stays one equation whatever the transform.

Reverse mode needs a primitive to split in two: the ``partial_eval`` rule (looked up by ir.partial_eval)
keeps the primal loop in the known graph, saves the residuals the tangent loop needs (stacked per iteration
for a scan), and puts only the linear loop in the unknown graph, where the ``transpose`` rule runs it
backwards. A while loop has no trip count to run backwards unless it is bounded: with ``max_steps`` it is
split as the scan of length ``max_steps`` that freezes its carry once the condition fails.

The ``dce`` rule (looked up by ir.dce) trims what nobody reads: the unused outputs of a cond from every
branch, and the carries and ys of a loop that neither a used output nor the loop condition needs.
"""

from .cond import cond, cond_p  # noqa: F401  (registered first: table order)
from .loops import WHILE_REVERSE_ERROR, scan, scan_p, while_, while_p  # noqa: F401

__all__ = ["cond", "while_", "scan", "WHILE_REVERSE_ERROR", "cond_p", "while_p", "scan_p"]
