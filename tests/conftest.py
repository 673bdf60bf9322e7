import numpy as np
import pytest

from jaxlike.ir.builder import state


@pytest.fixture(autouse=True)
def clean_tracing_state():
    """Every test starts and ends with no open trace: an error must never leave tracing state dirty."""
    assert state.stack == [], "a previous test left a trace open"
    yield
    assert state.stack == [], "this test left a trace open"
    assert state.no_grad == 0 and state.vmap_randomness == []


@pytest.fixture
def rng():
    return np.random.default_rng(0)
