"""The demo and the jaxlike command line, run as a user runs them."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jaxlike.__main__ import main, parse_spec
from jaxlike.demo import main as demo


def test_demo_converges_and_prints_every_stage(capsys):
    lines = []
    x, norms = demo(n=4, out=lines.append)
    np.testing.assert_allclose(x, np.ones(4), atol=1e-8)
    assert norms[-1] < 1e-10
    text = "\n".join(map(str, lines)) + capsys.readouterr().out
    for heading in ("traced IR", "the gradient, as a graph", "optimised IR", "LLVM IR", "Newton", "cost of one"):
        assert heading in text
    assert "define " in text and "reduce_sum" in text


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent("""
        import jaxlike.numpy as jnp

        def loss(x):
            return jnp.sum(jnp.sin(x) ** 2)
    """))
    return path


@pytest.mark.parametrize("stage, expect", [("traced", "sin"), ("optimised", "cos"), ("llvm", "define "),
                                           ("asm", "ret")])
def test_ir_command_prints_each_stage(model, capsys, stage, expect):
    assert main(["ir", f"{model}:loss", "--arg", "f64[5]", "--transform", "grad", "--stage", stage]) == 0
    assert expect in capsys.readouterr().out


def test_ir_command_writes_dot(model, tmp_path, capsys):
    dot = tmp_path / "g.dot"
    assert main(["ir", f"{model}:loss", "--arg", "f64[3]", "--transform", "hessian", "--dot", str(dot)]) == 0
    assert dot.read_text().startswith("digraph")


@pytest.mark.parametrize("argv, message", [
    (["ir", "nowhere.py:f", "--arg", "f64[2]"], "no such file: nowhere.py"),
    (["ir", "{model}", "--arg", "f64[2]"], "write FILE.py:FUNCTION"),
    (["ir", "{model}:nope", "--arg", "f64[2]"], "has no function 'nope'; it defines: loss"),
    (["ir", "{model}:loss", "--arg", "float[2]"], "bad --arg 'float[2]'"),
    (["ir", "{model}:loss"], "give one --arg per argument"),
])
def test_ir_command_mistakes(model, capsys, argv, message):
    argv = [a.format(model=model) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxlike: error: ") and message in err


def test_parse_spec():
    assert parse_spec("f32[3, 4]") == ((3, 4), np.dtype(np.float32))
    assert parse_spec("i64[]") == ((), np.dtype(np.int64))


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "jaxlike", "table"], capture_output=True, text=True)
    assert out.returncode == 0 and "sin" in out.stdout and "MISSING" not in out.stdout.split("primitives;")[0]
