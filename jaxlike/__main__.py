"""The jaxlike command line.

    jaxlike demo [--svg OUT.svg]
    jaxlike ir FILE.py:FUNC --arg 'f64[5]' [--arg 'f32[3,4]' ...] [--transform grad|jacfwd|jacrev|hessian|vmap]
               [--stage traced|optimised|llvm|asm] [--svg OUT.svg] [--dot OUT.dot]
    jaxlike table
"""

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np

TRANSFORMS = ("none", "grad", "jacfwd", "jacrev", "hessian", "vmap")
STAGES = ("traced", "optimised", "llvm", "asm")


class UsageError(Exception):
    """A mistake on the command line: printed as one clear line, exit status 2."""


def parse_spec(spec):
    """'f64[5,3]' -> (shape, dtype)."""
    from .ir import dtypes
    m = re.fullmatch(r"\s*(f32|f64|i32|i64|u32|bool)\[([0-9,\s]*)\]\s*", spec)
    if not m:
        raise UsageError(f"bad --arg {spec!r}: write a dtype and a shape, e.g. 'f64[5]', 'f32[3,4]' or 'f64[]' "
                         "(dtypes: f32 f64 i32 i64 u32 bool)")
    dims = [d for d in m.group(2).replace(" ", "").split(",") if d]
    return tuple(int(d) for d in dims), dtypes.FROM_SHORT[m.group(1)]


def load_function(target):
    if ":" not in target:
        raise UsageError(f"bad target {target!r}: write FILE.py:FUNCTION, e.g. model.py:loss")
    path_text, name = target.rsplit(":", 1)
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"no such file: {path_text}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    fn = getattr(module, name, None)
    if fn is None or not callable(fn):
        found = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        raise UsageError(f"{path_text} has no function {name!r}"
                         + (f"; it defines: {', '.join(found)}" if found else ""))
    return fn


def apply_transform(fn, transform):
    import jaxlike
    return {"none": lambda f: f, "grad": jaxlike.grad, "jacfwd": jaxlike.jacfwd, "jacrev": jaxlike.jacrev,
            "hessian": jaxlike.hessian, "vmap": jaxlike.vmap}[transform](fn)


def cmd_ir(args):
    import jaxlike
    fn = load_function(args.target)
    if not args.arg:
        raise UsageError("give one --arg per argument of the function, e.g. --arg 'f64[5]'")
    if args.svg and not args.svg.lower().endswith(".svg"):
        raise UsageError(f"--svg writes SVG: give a file name ending in .svg, not {args.svg!r}")
    examples = [np.zeros(shape, dtype) for shape, dtype in map(parse_spec, args.arg)]
    fn = apply_transform(fn, args.transform)
    if args.stage == "traced":
        graph = jaxlike.make_ir(fn)(*examples)
        text = str(graph)
    else:
        lowered = jaxlike.jit(fn).lower(*examples)
        graph = lowered.graph
        if args.stage == "optimised":
            text = lowered.as_text()
        else:
            compiled = lowered.compile()
            text = compiled.llvm_ir() if args.stage == "llvm" else compiled.asm()
    if args.svg:
        from .ir.drawing import save
        name = args.target.rsplit(":", 1)[1]
        title = name if args.transform == "none" else f"{args.transform}({name})"
        shown = "traced" if args.stage == "traced" else "optimised"
        try:
            save(graph, args.svg, title=f"{title}, {shown}")
        except ValueError as e:  # not an .svg path, or a graph too large to draw
            raise UsageError(str(e)) from None
        print(f"wrote {args.svg} (open it in a web browser)", file=sys.stderr)
    if args.dot:
        from .ir.graphs import to_dot
        Path(args.dot).write_text(to_dot(graph))
        print(f"wrote {args.dot} (render it with: dot -Tsvg {args.dot} -o graph.svg)", file=sys.stderr)
    print(text)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="jaxlike", description="Trace, differentiate and compile "
                                     "NumPy-style Python functions.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo_cmd = sub.add_parser("demo", help="trace, print the IR at each stage, compile, and run Newton's method")
    demo_cmd.add_argument("--svg", help="also draw the compiled Hessian's graph in this SVG file")
    ir_cmd = sub.add_parser("ir", help="print what a function of yours becomes")
    ir_cmd.add_argument("target", help="FILE.py:FUNCTION")
    ir_cmd.add_argument("--arg", action="append", default=[],
                        help="an argument's dtype and shape, e.g. 'f64[5]', 'f32[3,4]', 'f64[]'; one per argument")
    ir_cmd.add_argument("--transform", choices=TRANSFORMS, default="none",
                        help="differentiate with respect to the first argument (grad, jacfwd, jacrev, hessian), or "
                        "map over the leading axis of every argument (vmap); default none")
    ir_cmd.add_argument("--stage", choices=STAGES, default="traced",
                        help="traced: the graph as traced (transforms simplify theirs); optimised: the graph jit "
                        "compiles; llvm: the optimised LLVM module; asm: the machine code; default traced")
    ir_cmd.add_argument("--svg", help="also draw the graph as a picture (SVG) in this file; the llvm and asm "
                        "stages draw the optimised graph they are compiled from")
    ir_cmd.add_argument("--dot", help="also write the graph as Graphviz DOT to this file")
    sub.add_parser("table", help="print the primitive × rule matrix")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from .demo import main as demo
            if args.svg and not args.svg.lower().endswith(".svg"):
                raise UsageError(f"--svg writes SVG: give a file name ending in .svg, not {args.svg!r}")
            demo(svg=args.svg)
            return 0
        if args.command == "table":
            from .ir.table import main as table
            return table([])
        return cmd_ir(args)
    except UsageError as e:
        print(f"jaxlike: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
