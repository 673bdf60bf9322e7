"""The demo: trace a function, print its IR at each stage, compile its gradient and Hessian, and run
Newton's method with them, timed against NumPy. Run it with ``python -m jaxlike demo``; add
``--svg hessian.svg`` to also draw the compiled Hessian's graph."""

import time

import numpy as np

import jaxlike
import jaxlike.numpy as jnp


def rosenbrock(x):
    """The extended Rosenbrock function: a curved valley whose Hessian is tridiagonal."""
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad_numpy(x):
    """The gradient written by hand, the way one would without jaxlike."""
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def _heading(text):
    print(f"\n== {text} " + "=" * max(0, 76 - len(text)))


def _per_call(fn, *args, repeat=2000):
    fn(*args)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def _constants(graph, out):
    """The printed form names the constants (before the ';') but does not show them: show them here."""
    from .ir.graphs import to_networkx
    nodes = to_networkx(graph).nodes
    for i, value in enumerate(graph.consts.values()):
        name = nodes[f"const{i}"]["label"].split(":")[0]
        text = np.array2string(np.asarray(value), precision=4, threshold=12, separator=" ")
        out(f"   constant {name} = {' '.join(text.split())}")


def newton(grad_fn, hess_fn, x, steps=50, tol=1e-10):
    """Newton's method, plain: x ← x - H⁻¹ g. Returns the last iterate and every gradient norm."""
    norms = []
    for _ in range(steps):
        g = grad_fn(x)
        norms.append(float(np.linalg.norm(g)))
        if norms[-1] < tol:
            break
        x = x - np.linalg.solve(hess_fn(x), g)
    return x, norms


def main(n=8, out=print, svg=None):
    x0 = np.zeros(n)
    out("This is jaxlike's tour: one function, what jaxlike turns it into, and what that buys.\n"
        "    def rosenbrock(x):\n"
        "        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)")

    _heading(f"1. traced IR of rosenbrock(x: f64[{n}])")
    out("   One line per primitive operation: `name:dtype[shape] = primitive[params] inputs`.\n"
        "   x[1:] became a slice, ** 2 an integer_pow, jnp.sum a reduce_sum; `in (...)` lists the results.")
    out(jaxlike.make_ir(rosenbrock)(x0))

    _heading("2. the gradient, as a graph (jvp → partial eval → transpose → simplify)")
    out(f"   grad(rosenbrock) is a new graph: f64[{n}] in, f64[{n}] out, and no Python left in it.\n"
        "   The constants, before the ';', are arrays the simplifier folded:")
    grad = jaxlike.grad(rosenbrock)
    grad_graph = jaxlike.make_ir(grad)(x0)
    _constants(grad_graph, out)
    out(grad_graph)

    _heading("3. optimised IR of the compiled Hessian (what jit compiles)")
    out(f"   hessian = jacfwd(jacrev(f)): the gradient graph pushed forward along the {n} columns of the\n"
        f"   identity at once, hence the f64[{n},{n - 1}] values. Its constants are slices of that identity\n"
        "   and the function's 100s, folded into arrays by the simplifier. jit compiles exactly this graph.")
    hess_jit = jaxlike.jit(jaxlike.hessian(rosenbrock))
    hess_lowered = hess_jit.lower(x0)
    out(hess_lowered.as_text())
    if svg:
        from .ir.drawing import save
        save(hess_lowered.graph, svg, title=f"hessian(rosenbrock), x: f64[{n}], simplified")
        out(f"   (drawn in {svg}: open it in a web browser)")

    _heading("4. LLVM IR of the compiled gradient (its first loop)")
    grad_jit = jaxlike.jit(grad)
    compiled = grad_jit.lower(x0).compile()
    llvm_lines = compiled.llvm_ir().splitlines()
    start = next((i for i, line in enumerate(llvm_lines) if line.startswith("define")), 0)
    shown = [line if len(line) <= 100 else line[:96] + " ..." for line in llvm_lines[start:]
             if "noalias.scope.decl" not in line][:14]
    out("   @core takes one pointer per input, per output and a scratch buffer; <4 x double> is\n"
        "   four doubles per instruction (the loops vectorised).")
    out("\n".join(shown) + f"\n   ... ({len(llvm_lines)} lines in all; "
        "`jaxlike ir FILE.py:FUNC --arg 'f64[8]' --transform grad --stage llvm` prints them all)")

    _heading("5. Newton's method with the compiled gradient and Hessian")
    out("   A NumPy loop; grad and hess are ordinary functions of arrays, compiled on their first call.\n"
        "   Plain Newton from x = 0 overshoots up the valley's walls first, then converges quadratically.")
    x, norms = newton(grad_jit, hess_jit, x0)
    for i, nrm in enumerate(norms):
        out(f"   iteration {i:2d}   |grad| = {nrm:.3e}")
    out(f"   minimum at x = {np.array2string(x, precision=6)}  (exact: all ones)")

    _heading("6. cost of one gradient call")
    t_jit = _per_call(grad_jit, x0)
    t_np = _per_call(rosenbrock_grad_numpy, x0)
    t_interp = _per_call(grad, x0, repeat=20)
    out(f"   jaxlike compiled       {t_jit * 1e6:9.2f} µs")
    out(f"   NumPy, written by hand {t_np * 1e6:9.2f} µs")
    out(f"   jaxlike interpreted    {t_interp * 1e6:9.2f} µs   (trace + passes + NumPy, every call)")
    assert np.allclose(grad_jit(x0), rosenbrock_grad_numpy(x0))

    _heading("next")
    out("   your own function:  jaxlike ir model.py:loss --arg 'f64[5]' --transform hessian --stage optimised\n"
        "   a picture of it:    add --svg hessian.svg (any stage; open the file in a web browser)\n"
        "   the guides:         docs/index.md, starting with docs/tutorial.md")
    return x, norms


if __name__ == "__main__":
    main()
