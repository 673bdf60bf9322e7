"""The on-disk cache of machine code (JAXLIKE_CACHE_DIR): written atomically, read back instead of
compiling, keyed on everything the machine code depends on, a corrupt entry compiled again."""

import os

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike.codegen import cache, engine


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


X = np.linspace(-1.0, 1.5, 6)


def compiled_hessian():
    cache.clear()  # the in-memory cache would answer first
    return jaxlike.jit(jaxlike.hessian(rosenbrock)).lower(X).compile()


def entries(folder):
    return sorted(p for p in os.listdir(folder) if not p.startswith("."))


def test_without_the_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("JAXLIKE_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    compiled_hessian()
    assert engine.disk_cache_path("anything") is None
    assert os.listdir(tmp_path) == []


def test_a_second_compile_loads_the_machine_code_and_gives_the_same_results(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXLIKE_CACHE_DIR", str(tmp_path))
    first = compiled_hessian()
    assert len(entries(tmp_path)) == 1 and not first.compiled.module.from_disk
    second = compiled_hessian()
    assert second.compiled.module.from_disk
    np.testing.assert_array_equal(second(X), first(X))
    np.testing.assert_allclose(second(X), jaxlike.hessian(rosenbrock)(X), rtol=1e-12)
    # the optimised IR of a loaded module is made again on demand, and is the same text
    assert second.llvm_ir() == first.llvm_ir()


def test_a_corrupt_entry_is_compiled_again_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXLIKE_CACHE_DIR", str(tmp_path))
    compiled_hessian()
    (name,) = entries(tmp_path)
    path = tmp_path / name
    good = path.read_bytes()
    path.write_bytes(good[:200] + b"\x00garbage\x00" + good[209:])  # same length, bad bytes
    again = compiled_hessian()
    assert not again.compiled.module.from_disk  # never handed to LLVM
    np.testing.assert_allclose(again(X), jaxlike.hessian(rosenbrock)(X), rtol=1e-12)
    assert path.read_bytes() == good
    path.write_bytes(b"")  # a truncated entry too
    assert not compiled_hessian().compiled.module.from_disk


def test_the_key_depends_on_the_ir_and_the_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXLIKE_CACHE_DIR", str(tmp_path))
    a = engine.disk_cache_path("define void @f() { ret void }")
    assert a == engine.disk_cache_path("define void @f() { ret void }")
    assert a != engine.disk_cache_path("define void @g() { ret void }")
    monkeypatch.setattr(engine, "HOST_FEATURES", engine.HOST_FEATURES + ",+madeup")
    assert a != engine.disk_cache_path("define void @f() { ret void }")
    b = engine.disk_cache_path("define void @f() { ret void }")
    monkeypatch.setattr(engine, "SPEED_LEVEL", engine.SPEED_LEVEL + 1)
    assert engine.disk_cache_path("define void @f() { ret void }") not in (a, b)


def test_an_unwritable_folder_only_costs_the_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("JAXLIKE_CACHE_DIR", str(blocker / "cache"))
    compiled = compiled_hessian()
    np.testing.assert_allclose(compiled(X), jaxlike.hessian(rosenbrock)(X), rtol=1e-12)


@pytest.mark.parametrize("text", [b"", b"jaxlike-object-1\n", b"\x7fELF not an object"])
def test_reading_a_bad_entry_gives_none_and_deletes_it(tmp_path, text):
    path = tmp_path / "entry.o"
    path.write_bytes(text)
    assert engine.read_cached_object(str(path)) is None
    assert not path.exists()
