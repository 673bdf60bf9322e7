"""The errors users see. Tracing errors are defined in jaxlike.ir.builder and re-exported here."""

from .ir.builder import (ConcretizationTypeError, TracerArrayConversionError,  # noqa: F401
                         TracerBoolConversionError, TracerIntegerConversionError, TracingError,
                         UnexpectedTracerError)


class NonConcreteBooleanIndexError(ConcretizationTypeError, IndexError):
    """A boolean mask whose result shape depends on traced values."""


class InternalCompilerError(RuntimeError):
    """A bug in jaxlike's compiler: the message names the file where the failing IR was saved."""


__all__ = ["ConcretizationTypeError", "TracerArrayConversionError", "TracerBoolConversionError",
           "TracerIntegerConversionError", "TracingError", "UnexpectedTracerError",
           "NonConcreteBooleanIndexError", "InternalCompilerError"]
