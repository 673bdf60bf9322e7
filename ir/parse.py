"""parse_graph: the printed form of a Graph (ir.printing) read back into a Graph.

    { lambda CONSTS ; INPUTS. let
        OUT:AVAL ... = prim[key=value, ...] ATOM ...
      in (ATOM, ...) }

Print, parse and print again gives the same text. The parser is a scanner over the text with one loop over
the equations; it recurses only into nested Graphs and tuples in params, so its depth is the nesting depth of
the text, never its length.

Names are resolved with one table for the whole text: a name printed twice stands for one Var (the printer
gives a Var one name however often it appears, also across nested graphs). The parser checks the syntax;
scoping, single assignment and shapes are ``ir.verify``'s business.
"""

import re

import numpy as np

from . import dtypes
from .core import AVal, Eqn, Graph, Lit, Var
from .primitive import PRIMITIVES


class IRSyntaxError(ValueError):
    """The text is not a printed Graph; the message names the line and column."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:nan|inf|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)")
_WORD = re.compile(r"[^\s,\[\]()]+")  # a str param printed bare: anything up to a delimiter
_SHAPE = re.compile(r"\[((?:\d+(?:,\d+)*)?)\]")
_SPACES = " \t"
_KEYWORDS = {"True": True, "False": False, "None": None}


def parse_graph(text, consts=None):
    """The Graph printed as ``text``.

    ``consts`` gives the values of the constants, whose text shows only their names and avals: a list in
    order of first appearance in the text (the outer graph's, then those of nested graphs), or a dict from
    printed name to array. Each value must have the printed shape and dtype.
    """
    parser = _Parser(text)
    graph = parser.graph()
    parser.skip_space()
    if parser.pos != len(text):
        parser.fail("the end of the text after the graph's closing '}'")
    parser.attach_consts(consts)
    return graph


class _Parser:
    def __init__(self, text):
        self.text = text
        self.pos = 0
        self.vars = {}  # printed name -> Var, for the whole text
        self.const_vars = {}  # printed name -> Var, in order of first appearance
        self.owners = []  # (graph, var): the const slots to fill once the values are known
        self.avals = {}  # printed aval -> AVal, shared

    # ----------------------------------------------------------------------------------------------
    # Scanning

    def fail(self, expected, pos=None):
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        start = self.text.rfind("\n", 0, pos) + 1
        end = self.text.find("\n", pos)
        source = self.text[start:len(self.text) if end < 0 else end]
        found = self.text[pos:pos + 12].split("\n")[0]
        found = f"found {found!r}" if found else "found the end of the line" if pos < len(self.text) \
            else "found the end of the text"
        raise IRSyntaxError(f"line {line}, column {pos - start + 1}: expected {expected}, {found}\n"
                            f"    {source}\n    {' ' * (pos - start)}^")

    def skip_space(self):
        """Skip spaces and newlines."""
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        self.pos = pos

    def skip_blanks(self):
        """Skip spaces on the current line."""
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _SPACES:
            pos += 1
        self.pos = pos

    def peek(self, literal):
        return self.text.startswith(literal, self.pos)

    def expect(self, literal, what=None):
        if not self.text.startswith(literal, self.pos):
            self.fail(what or repr(literal))
        self.pos += len(literal)

    def match(self, regex, what):
        m = regex.match(self.text, self.pos)
        if m is None:
            self.fail(what)
        self.pos = m.end()
        return m

    def name(self, what="a name"):
        return self.match(_NAME, what).group()

    # ----------------------------------------------------------------------------------------------
    # Graphs

    def graph(self):
        self.skip_space()
        self.expect("{", "'{' opening a graph")
        self.skip_space()
        self.expect("lambda", "'lambda' after '{'")
        scope = set()  # the names this graph defines so far
        self.skip_space()
        consts = []
        while not self.peek(";"):
            name, var = self.binder("a constant 'name:aval' or ';'")
            self.const_vars.setdefault(name, var)
            scope.add(name)
            consts.append(var)
            self.skip_space()
        self.pos += 1
        self.skip_space()
        inputs = []
        while not self.peek("."):
            name, var = self.binder("an input 'name:aval' or '.' ending the inputs")
            scope.add(name)
            inputs.append(var)
            self.skip_space()
        self.pos += 1
        self.skip_space()
        self.expect("let", "'let' after the inputs")
        eqns = []
        while True:  # one iteration per equation: no recursion on the length of the graph
            self.skip_space()
            if self._at_in():
                break
            eqns.append(self.eqn(scope))
        self.pos += 2
        self.skip_space()
        self.expect("(", "'(' opening the outputs")
        outputs = []
        self.skip_space()
        while not self.peek(")"):
            outputs.append(self.atom(scope, "an output (a name or a literal) or ')'"))
            self.skip_space()
            if self.peek(","):
                self.pos += 1
                self.skip_space()
            elif not self.peek(")"):
                self.fail("',' or ')' after an output")
        self.pos += 1
        self.skip_space()
        self.expect("}", "'}' closing the graph")
        graph = Graph({}, inputs, eqns, outputs)
        for var in consts:
            graph.consts[var] = None
            self.owners.append((graph, var))
        return graph

    def _at_in(self):
        """At the 'in (' ending the equations? (A Var may also be named 'in': then ':' follows.)"""
        if not self.peek("in"):
            return False
        pos = self.pos + 2
        while pos < len(self.text) and self.text[pos] in " \t\r\n":
            pos += 1
        return self.text.startswith("(", pos)

    def binder(self, what):
        """``name:aval``; returns the name and its Var."""
        start = self.pos
        name = self.match(_NAME, what).group()
        if name == "let" and not self.peek(":"):
            self.fail("'.' ending the inputs before 'let'", start)
        self.expect(":", f"':' and an aval after {name!r}")
        aval = self.aval()
        var = self.vars.get(name)
        if var is None:
            var = self.vars[name] = Var(aval)
        elif var.aval != aval:
            self.fail(f"the aval {var.aval} that {name!r} was printed with before", start)
        return name, var

    def aval(self):
        start = self.pos
        dtype_name = self.name("a dtype (f32, f64, i32, i64, u32, bool)")
        shape = self.match(_SHAPE, "a shape such as [] or [3,4] after the dtype").group(1)
        key = self.text[start:self.pos]
        aval = self.avals.get(key)
        if aval is None:
            dtype = dtypes.FROM_SHORT.get(dtype_name)
            if dtype is None:
                self.fail("a dtype (f32, f64, i32, i64, u32, bool)", start)
            dims = tuple(int(d) for d in shape.split(",")) if shape else ()
            aval = self.avals[key] = AVal(dims, dtype)
        return aval

    # ----------------------------------------------------------------------------------------------
    # Equations

    def eqn(self, scope):
        outputs = []
        pending = []  # output names enter the scope after the inputs are read
        what = "an equation 'name:aval ... = prim ...' or 'in (' ending the equations"
        while not self.peek("="):
            name, var = self.binder(what)
            outputs.append(var)
            pending.append(name)
            self.skip_blanks()
            what = "another output 'name:aval' or '='"
        self.pos += 1
        self.skip_blanks()
        start = self.pos
        prim_name = self.name("a primitive name after '='")
        prim = PRIMITIVES.get(prim_name)
        if prim is None:
            self.fail(f"a primitive registered in jaxlike.ir.PRIMITIVES (not {prim_name!r})", start)
        params = self.params() if self.peek("[") else {}
        inputs = []
        self.skip_blanks()
        while self.pos < len(self.text) and self.text[self.pos] not in "\r\n":
            inputs.append(self.atom(scope, "an input (a name or a literal) or the end of the line"))
            self.skip_blanks()
        scope.update(pending)
        return Eqn(prim, inputs, params, outputs)

    def atom(self, scope, what):
        start = self.pos
        text = self.text
        if start < len(text) and (text[start] in "-0123456789"):
            return self.literal()
        name = self.match(_NAME, what).group()
        if name in ("True", "False"):
            self.pos = start
            return self.literal()
        if name in ("nan", "inf") and (self.peek(":") or name not in scope):
            # a Var may be named nan or inf too: the name wins in the graph that defines it
            self.pos = start
            return self.literal()
        var = self.vars.get(name)
        if var is None:
            self.fail(f"a name defined before this point (not {name!r})", start)
        return var

    def literal(self):
        start = self.pos
        if self.peek("True") or self.peek("False"):
            text = self.name()
            value, kind = text == "True", "b"
        else:
            text = self.match(_NUMBER, "a literal (2.0, 3, True, nan, inf, 2.0:f32)").group()
            is_float = any(c in text for c in ".eEan")  # '.', exponent, nan or inf
            value, kind = (float(text), "f") if is_float else (int(text), "i")
        dtype = {"b": dtypes.bool_, "i": dtypes.int64, "f": dtypes.float64}[kind]
        if self.peek(":"):
            self.pos += 1
            dt_start = self.pos
            dtype = dtypes.FROM_SHORT.get(self.name("a dtype after ':'"))
            if dtype is None:
                self.fail("a dtype (f32, f64, i32, i64, u32, bool) after ':'", dt_start)
        try:
            return Lit(value, dtype)
        except (OverflowError, ValueError, TypeError) as err:
            self.fail(f"a literal that fits its dtype ({err})", start)

    # ----------------------------------------------------------------------------------------------
    # Params: ints, floats, bools, None, dtypes, bare strings, tuples and nested Graphs

    def params(self):
        self.pos += 1  # '['
        params = {}
        self.skip_space()
        while not self.peek("]"):
            start = self.pos
            key = self.name("a param name or ']'")
            if key in params:
                self.fail(f"a param name not given before (not {key!r} again)", start)
            self.expect("=", f"'=' after the param name {key!r}")
            params[key] = self.value()
            self.skip_space()
            if self.peek(","):
                self.pos += 1
                self.skip_space()
            elif not self.peek("]"):
                self.fail("',' or ']' after a param value")
        self.pos += 1
        return params

    def value(self):
        self.skip_space()
        text, pos = self.text, self.pos
        if text.startswith("{", pos):
            return self.graph()
        if text.startswith("(", pos):
            return self.tuple_()
        if text.startswith("np.", pos):
            return self.numpy_scalar()
        if pos < len(text) and text[pos] in "-0123456789":
            return self.number()
        m = _WORD.match(text, pos)
        if m is None:
            self.fail("a param value")
        word = m.group()
        if word in ("nan", "inf"):
            return self.number()
        self.pos = m.end()
        if word in _KEYWORDS:
            return _KEYWORDS[word]
        if word in dtypes.FROM_SHORT:
            return dtypes.FROM_SHORT[word]
        return word  # a str param (the printer writes strings bare)

    def number(self):
        text = self.match(_NUMBER, "a number").group()
        return float(text) if any(c in text for c in ".eEan") else int(text)

    def numpy_scalar(self):
        """``np.float64(2.0)`` or ``np.True_``: how NumPy 2 writes the repr of its scalars."""
        start = self.pos
        self.pos += 3
        name = self.name("a NumPy scalar type after 'np.'")
        if name in ("True_", "False_"):
            return np.bool_(name == "True_")
        kind = getattr(np, name, None)
        if not (isinstance(kind, type) and issubclass(kind, np.generic)):
            self.fail("a NumPy scalar type such as np.float64", start + 3)
        self.expect("(", f"'(' after np.{name}")
        value = self.number()
        self.expect(")", f"')' closing np.{name}(")
        return kind(value)

    def tuple_(self):
        self.pos += 1  # '('
        items = []
        self.skip_space()
        while not self.peek(")"):
            items.append(self.value())
            self.skip_space()
            if self.peek(","):
                self.pos += 1
                self.skip_space()
            elif not self.peek(")"):
                self.fail("',' or ')' in a tuple")
        self.pos += 1
        return tuple(items)

    # ----------------------------------------------------------------------------------------------
    # Constants

    def attach_consts(self, consts):
        names = list(self.const_vars)
        if not names:
            if consts:
                raise ValueError(f"the graph has no constants, but {len(consts)} values were given")
            return
        listing = ", ".join(f"{n}:{self.const_vars[n].aval}" for n in names)
        if consts is None:
            raise ValueError(
                f"the graph has {len(names)} constant(s) ({listing}) whose values the text does not "
                "show: pass them as parse_graph(text, consts=[...]) in order of appearance, or as a "
                "dict from printed name to array")
        if isinstance(consts, dict):
            unknown = sorted(set(consts) - set(names))
            absent = [n for n in names if n not in consts]
            if unknown or absent:
                raise ValueError(f"consts must give a value for each of {', '.join(names)}"
                                 + (f"; missing {', '.join(absent)}" if absent else "")
                                 + (f"; not constants of the graph: {', '.join(unknown)}" if unknown else ""))
            values = {n: consts[n] for n in names}
        else:
            consts = list(consts)
            if len(consts) != len(names):
                raise ValueError(f"the graph has {len(names)} constant(s) ({listing}), "
                                 f"got {len(consts)} values")
            values = dict(zip(names, consts, strict=True))
        arrays = {}
        for name, value in values.items():
            aval = self.const_vars[name].aval
            arr = np.asarray(value)
            if arr.shape != aval.shape or arr.dtype != aval.dtype:
                raise ValueError(f"constant {name} is printed as {aval}, got an array of shape "
                                 f"{arr.shape} and dtype {arr.dtype}")
            arrays[self.const_vars[name]] = arr
        for graph, var in self.owners:
            graph.consts[var] = arrays[var]
