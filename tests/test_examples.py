"""The examples run, as scripts and through their main(), and give the right answers; docs/api.md names every
public name; compiling logs its stages."""

import ast
import importlib
import inspect
import logging
import re
import runpy
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MINE = ["rosenbrock_newton", "scipy_minimize", "per_example_grads", "mlp_jacobian", "stiff_ode", "hvp",
        "ir_pictures"]


def load(name):
    return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")


def test_rosenbrock_newton():
    result = load("rosenbrock_newton")["main"](n=10, verbose=False)
    np.testing.assert_allclose(result["x"], np.ones(10), atol=1e-10)
    assert result["grad_norm"] < 1e-8 and result["f"] < 1e-20 and result["steps"] < 50


def test_scipy_minimize():
    pytest.importorskip("scipy")
    result = load("scipy_minimize")["main"](verbose=False)
    exact, cg = result["trust-exact"], result["Newton-CG"]
    assert exact.success and cg.success
    assert exact.nit < 15 and cg.nhev > 0  # second-order convergence, Hessian-vector products used
    assert result["difference"] < 1e-5 and result["grad_norm"] < 1e-8
    assert abs(exact.fun - cg.fun) < 1e-12


def test_per_example_grads():
    result = load("per_example_grads")["main"](batch=32, verbose=False)
    grads = result["grads"]
    assert grads["w1"].shape == (32, 16, 8) and grads["b2"].shape == (32,)
    assert result["error"] < 1e-12
    assert np.all(result["norms"] > 0)
    update_norm = np.sqrt(sum(np.sum(u ** 2) for u in result["update"].values()))
    assert update_norm <= 5.0 + 1e-12  # the mean of clipped gradients is clipped too


def test_mlp_jacobian():
    result = load("mlp_jacobian")["main"](batch=64, verbose=False)
    assert result["jacobian"].shape == (3, 6) and result["jacobians"].shape == (64, 3, 6)
    assert result["fd_error"] < 1e-7 and result["modes_error"] < 1e-12 and result["loop_error"] < 1e-12


def test_stiff_ode():
    pytest.importorskip("scipy")
    result = load("stiff_ode")["main"](verbose=False)
    reference = np.array([0.7158271, 9.185535e-6, 0.2841637])  # Hairer & Wanner, y(40)
    for method in ("BDF", "Radau"):
        y = result[method].y[:, -1]
        np.testing.assert_allclose(y, reference, rtol=2e-6)
        assert result[method].njev > 0
    assert abs(result["y_end"].sum() - 1) < 1e-12
    assert result["jac_error"] < 1e-6


def test_hvp():
    result = load("hvp")["main"](n=100, verbose=False)
    assert result["error"] < 1e-12 and result["eager_error"] < 1e-12
    assert result["hv"].shape == (100,)


def test_ir_pictures(tmp_path):
    svgs = load("ir_pictures")["main"](out=tmp_path, verbose=False)
    for name, svg in svgs.items():
        assert (tmp_path / name).read_text() == svg
        ET.fromstring(svg)


def test_docs_pictures_are_drawings_of_the_ir():
    """The pictures in docs/ (regenerate them with python examples/ir_pictures.py --out docs)."""
    names = load("ir_pictures")["pictures"]()
    for name in names:
        root = ET.fromstring((ROOT / "docs" / name).read_text())
        boxes = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if "node" in g.get("class", "")]
        assert boxes and any("eqn" in g.get("class") for g in boxes)
        assert name in (ROOT / "docs" / "reading_ir.md").read_text()


@pytest.mark.parametrize("name", MINE)
def test_example_runs_as_a_script(name, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sys, "argv", [f"{name}.py"])
    monkeypatch.chdir(tmp_path)  # ir_pictures writes its files here
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.strip()
    assert "nan" not in out.lower().replace("nanoseconds", "")


def test_every_example_has_a_main_and_a_docstring():
    for path in sorted(EXAMPLES.glob("*.py")):
        source = path.read_text()
        assert source.startswith('"""'), path.name
        assert "\ndef main(" in source and 'if __name__ == "__main__":' in source, path.name


# ---- docs/api.md covers every public name

MODULES = ["jaxlike", "jaxlike.numpy", "jaxlike.numpy.linalg", "jaxlike.lax", "jaxlike.random",
           "jaxlike.sparse", "jaxlike.testing", "jaxlike.tree", "jaxlike.errors"]


def public_names(module_name):
    """``__all__``, or else the names that do not start with _ and are not modules imported from
    elsewhere (jnp imports numpy as np, math, operator, ...)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and not (isinstance(v, types.ModuleType) and not v.__name__.startswith(module_name))]
    return sorted(names)


@pytest.mark.parametrize("module_name", MODULES)
def test_api_reference_names_every_public_name(module_name):
    text = (ROOT / "docs" / "api.md").read_text()
    missing = [n for n in public_names(module_name) if not re.search(rf"`[^`\n]*\b{re.escape(n)}\b[^`\n]*`", text)]
    assert not missing, f"docs/api.md does not mention these public names of {module_name}: {missing}"


def _parameters(text):
    """The parameter names of a signature written as ``a, b=1, *, c=('x', 'y')``."""
    args = ast.parse(f"def _({text}): pass").body[0].args
    return [a.arg for a in args.posonlyargs + args.args + ([args.vararg] if args.vararg else [])
            + args.kwonlyargs + ([args.kwarg] if args.kwarg else [])]


def test_api_reference_signatures_are_current():
    """Every ``name(params)`` heading of docs/api.md shows the parameters the function takes."""
    text = (ROOT / "docs" / "api.md").read_text()
    headings = re.findall(r"^#{3,4} `([\w.]+)\((.*)\)`", text, re.M)
    assert len(headings) > 30
    for qualified, params in headings:
        module_name, _, name = qualified.rpartition(".")
        fn = getattr(importlib.import_module(module_name), name)
        actual = [p for p in inspect.signature(fn).parameters if not p.startswith("_")]
        assert _parameters(params) == actual, f"{qualified}: docs/api.md shows ({params})"


def test_api_reference_numpy_tables_are_current():
    """The rows ``| `name(signature)` |`` of the jaxlike.numpy section show each function's signature."""
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## `jaxlike.numpy`", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)(\(.*?\))` \|", section, re.M)
    assert len(rows) > 130
    for name, shown in rows:
        assert shown == str(inspect.signature(getattr(jnp, name))), name


# ---- the documentation's pages and links

MY_PAGES = ["index.md", "tutorial.md", "api.md", "from_jax.md", "from_torch.md", "reading_ir.md"]


def test_index_links_every_page():
    index = (ROOT / "docs" / "index.md").read_text()
    missing = [p.name for p in sorted((ROOT / "docs").glob("*.md"))
               if p.name != "index.md" and f"]({p.name})" not in index]
    assert not missing, f"docs/index.md does not link {missing}: add a line for each to its tables"


@pytest.mark.parametrize("page", ["../README.md"] + MY_PAGES)
def test_relative_links_resolve(page):
    path = (ROOT / "docs" / page).resolve()
    for target in re.findall(r"\]\(([\w./-]+\.(?:md|svg|png|py))(?:#[\w-]*)?\)", path.read_text()):
        assert (path.parent / target).exists(), f"{page} links {target}, which does not exist"


def test_readme_links_the_documentation():
    readme = (ROOT / "README.md").read_text()
    for page in ("docs/index.md", "docs/tutorial.md", "docs/api.md", "docs/reading_ir.md"):
        assert f"]({page})" in readme


# ---- progress logs (docs/api.md, "Logging")

def test_compiling_logs_its_stages(caplog):
    def f(x):
        return jnp.sum(jnp.sin(x) * x)

    with caplog.at_level(logging.INFO, logger="jaxlike"):
        jaxlike.jit(jaxlike.grad(f))(np.ones(7))
    messages = [r.getMessage() for r in caplog.records if r.name == "jaxlike"]
    for stage in ("tracing for f64[7]", "traced", "simplified to", "compiling", "compiled in"):
        assert any(stage in m for m in messages), (stage, messages)
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "jaxlike")


def test_no_logs_at_the_default_level(caplog):
    with caplog.at_level(logging.WARNING, logger="jaxlike"):
        jaxlike.jit(lambda x: x * 3.0)(np.ones(2))
    assert not [r for r in caplog.records if r.name == "jaxlike"]
