"""Pictures of the IR, drawn by jaxlike itself: the pictures of docs/reading_ir.md.

    python examples/ir_pictures.py                  write the SVG files to the current directory
    python examples/ir_pictures.py --out docs       regenerate the pictures of the documentation

``jaxlike.ir.drawing.save(graph, "g.svg")`` draws any Graph: the traced graph of ``make_ir(f)(x)``, or the
simplified graph that ``jit`` compiles, ``jit(f).lower(x).graph``. Open the files in a web browser;
hovering a box shows its whole equation.
"""

import argparse
from pathlib import Path

import numpy as np

import jaxlike
import jaxlike.numpy as jnp
from jaxlike.ir import drawing


def f(x, y):
    """The function of the README."""
    return jnp.sum(jnp.sin(x) * y)


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def pictures():
    """{file name: (title, Graph)} of every picture."""
    x, y = np.ones(3), np.arange(3.0)
    return {
        "ir_grad_f.svg": ("grad(f), traced", jaxlike.make_ir(jaxlike.grad(f))(x, y)),
        "ir_rosenbrock_hessian.svg": ("hessian(rosenbrock), x: f64[4], simplified",
                                      jaxlike.jit(jaxlike.hessian(rosenbrock)).lower(np.zeros(4)).graph),
    }


def main(out=None, verbose=True):
    """Draw every picture; write them to the directory ``out`` if given. Returns {file name: SVG text}."""
    svgs = {name: drawing.to_svg(graph, title=title) for name, (title, graph) in pictures().items()}
    if out is not None:
        for name, svg in svgs.items():
            path = Path(out) / name
            path.write_text(svg)
            if verbose:
                print(f"wrote {path}")
    return svgs


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory to write the SVG files to (default: here)")
    main(parser.parse_args().out)
