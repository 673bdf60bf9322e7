"""Every error class a user meets while tracing: its type and its message (what, where, and the fix)."""

import re

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike.errors import (ConcretizationTypeError, NonConcreteBooleanIndexError,
                            TracerArrayConversionError, TracerBoolConversionError,
                            TracerIntegerConversionError, UnexpectedTracerError)
from jaxlike.ir.builder import state

X = np.arange(3.0)


def test_bool_conversion_under_jit_points_to_the_fixes():
    def f(x):
        return x if x.sum() > 0 else -x

    with pytest.raises(TracerBoolConversionError, match=r"Attempted boolean conversion of traced array with "
                       r"shape bool\[\] while tracing jit\(f\)\..*jaxlike\.lax\.cond or jnp\.where.*"
                       r"static_argnums"):
        jaxlike.jit(f)(X)
    assert state.stack == []


def test_bool_conversion_works_with_values_attached():
    def f(x):
        return jnp.sum(x ** 2) if x.sum() > 0 else jnp.sum(-x)

    np.testing.assert_allclose(jaxlike.grad(f)(X), 2 * X)      # the branch taken is differentiated
    np.testing.assert_allclose(jaxlike.grad(f)(-X - 1), -np.ones(3))


def test_array_conversion_names_the_numpy_function_problem():
    with pytest.raises(TracerArrayConversionError, match=r"__array__\(\) was called on a traced array with "
                       r"shape f64\[3\] while tracing jit\(<lambda>\).*use the jaxlike\.numpy function"):
        jaxlike.jit(lambda x: np.asarray(x))(X)


def test_integer_conversion_of_an_abstract_value():
    with pytest.raises(TracerIntegerConversionError, match=r"The index\(\) of a traced array with shape "
                       r"i64\[\] was requested while tracing jit\(<lambda>\).*static_argnums"):
        jaxlike.jit(lambda x, i: [1.0, 2.0][i] * x)(X, np.int64(1))
    with pytest.raises(TracerIntegerConversionError, match=r"The int\(\) of a traced array"):
        jaxlike.jit(lambda x: x * int(x[0]))(X)


def test_float_conversion_is_a_concretization_error():
    with pytest.raises(ConcretizationTypeError, match=r"The float\(\) of a traced array with shape f64\[\]"):
        jaxlike.jit(lambda x: x * float(x[0]))(X)


def test_a_leaked_tracer_says_where_it_was_created():
    leaked = []

    def f(x):
        leaked.append(x * 2.0)
        return x

    jaxlike.jit(f)(X)
    with pytest.raises(UnexpectedTracerError, match=r"created while tracing jit\(f\), used after that trace "
                       r"ended.*return them as outputs instead"):
        jaxlike.jit(lambda y: y + leaked[0])(X)
    assert state.stack == []


def test_boolean_mask_under_jit_points_to_where():
    with pytest.raises(NonConcreteBooleanIndexError, match=r"jnp\.where"):
        jaxlike.jit(lambda x: x[x > 1.0])(X)


def test_shape_errors_name_the_operation_and_both_shapes():
    with pytest.raises(ValueError, match=re.escape("shapes (3,) and (4,) cannot be broadcast together")):
        jaxlike.make_ir(lambda x, y: x + y)(X, np.ones(4))
    with pytest.raises(ValueError, match=re.escape("cannot reshape array of size 3 into shape (2, 2)")):
        jaxlike.make_ir(lambda x: jnp.reshape(x, (2, 2)))(X)


def test_non_array_arguments_are_named_by_their_pytree_path():
    with pytest.raises(TypeError, match=r"argument args\[0\]\['w'\]\[1\] of type str is not a valid jaxlike "
                       r"type"):
        jaxlike.grad(lambda p: jnp.sum(p["w"][0]))({"w": [X, "oops"]})
    with pytest.raises(TypeError, match=r"args\[1\] of type str is not a valid jaxlike type"):
        jaxlike.jit(lambda x, y: x)(X, "oops")


def test_tracing_state_is_clean_after_errors():
    for bad in (lambda x: x if x > 0 else x, lambda x: np.asarray(x), lambda x: x[x > 0]):
        with pytest.raises(Exception):
            jaxlike.jit(bad)(X)
        assert state.stack == [] and state.no_grad == 0
    np.testing.assert_allclose(jaxlike.jit(lambda x: x * 2.0)(X), 2 * X)  # and tracing still works
