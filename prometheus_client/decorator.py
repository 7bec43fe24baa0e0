"""Signature-preserving decorators (the ``prometheus_client.decorator`` API).

A clean reimplementation of the interface of Michele Simionato's
``decorator`` 4.0.10, which the classic client shipped under this name.
:func:`decorate` returns a *real* function with the decorated function's
exact parameter list, so ``inspect.signature``, :func:`getargspec`, argument
errors and defaults behave as if the function had not been decorated, and
every call runs ``caller(func, *args, **kwargs)``.

The wrapper is compiled once per distinct parameter list (the code objects
are cached), then bound to its ``caller`` and ``func``; a call costs one extra
Python frame plus the caller. Decorating with a coroutine-function caller
produces a coroutine function (``async def`` wrapper awaiting the caller),
so decorated ``async def`` functions stay coroutine functions.

Differences from decorator 4.0.10, all in corner cases: a coroutine-function
caller gives a coroutine function (4.0.10 gave a plain function returning the
caller's coroutine); positional-only parameters stay positional-only; a
parameter called ``_func_`` or ``_call_``, or a ``__name__`` that is not an
identifier, does not break :func:`decorate`; a :class:`ContextManager` used
as a decorator can be called more than once; a generic function from
:func:`dispatch_on` called with a plain ``object()`` falls back to its
default; ``FunctionMaker()`` without a function, name or signature raises
TypeError rather than AssertionError.

Thread safety: decorating and calling are thread-safe; the compile cache is
guarded by ``functools.lru_cache``. Nothing here keeps per-call state.

Raises:
    AttributeError: decorating an object without ``__name__`` or
        ``__module__`` (a callable instance, a ``functools.partial``).
    TypeError: decorating something that is not a Python function, e.g.
        ``'You are decorating a non function: <built-in function len>'``.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import keyword
import operator
import re
import sys
from contextlib import _GeneratorContextManager
from inspect import getfullargspec
from types import CodeType, FunctionType
from typing import (
    Any,
    Callable,
    Dict,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

__all__ = [
    "DEF",
    "ArgSpec",
    "ContextManager",
    "FunctionMaker",
    "append",
    "contextmanager",
    "decorate",
    "decorator",
    "dispatch_on",
    "get_init",
    "getargspec",
    "getfullargspec",
]

__version__ = "4.0.10"

F = TypeVar("F", bound=Callable[..., Any])

#: Matches the ``def name(`` header of a function template.
DEF = re.compile(r"\s*def\s*([_\w][_\w\d]*)\s*\(")


class ArgSpec(NamedTuple):
    """The classic four-field argument spec (keyword-only parameters omitted)."""

    args: List[str]
    varargs: Optional[str]
    varkw: Optional[str]
    defaults: Optional[Tuple[Any, ...]]


def getargspec(f: Callable[..., Any]) -> ArgSpec:
    """Return ``ArgSpec(args, varargs, varkw, defaults)`` of ``f``.

    Same rules as :func:`inspect.getfullargspec` (honours ``__signature__``,
    does not follow ``__wrapped__``, keeps ``self`` of bound methods).

    Raises:
        TypeError: ``f`` has no retrievable signature.
    """
    spec = getfullargspec(f)
    return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)


def get_init(cls: type) -> Callable[..., Any]:
    """Return ``cls.__init__``."""
    return cls.__init__  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Describing a parameter list and compiling functions for it.


class _ParameterList(NamedTuple):
    """What a generated function needs to know about a parameter list."""

    args: List[str]  # positional parameters, positional-only ones first
    posonly_count: int
    varargs: Optional[str]
    varkw: Optional[str]
    defaults: Optional[Tuple[Any, ...]]
    kwonlyargs: List[str]
    kwonlydefaults: Optional[Dict[str, Any]]

    @classmethod
    def of(cls, func: Callable[..., Any]) -> _ParameterList:
        """Read the parameters of ``func`` (not following ``__wrapped__``)."""
        args: List[str] = []
        posonly_count = 0
        varargs = varkw = None
        defaults: List[Any] = []
        kwonlyargs: List[str] = []
        kwonlydefaults: Dict[str, Any] = {}
        signature = inspect.signature(func, follow_wrapped=False)
        for parameter in signature.parameters.values():
            kind = parameter.kind
            if kind is parameter.VAR_POSITIONAL:
                varargs = parameter.name
            elif kind is parameter.VAR_KEYWORD:
                varkw = parameter.name
            elif kind is parameter.KEYWORD_ONLY:
                kwonlyargs.append(parameter.name)
                if parameter.default is not parameter.empty:
                    kwonlydefaults[parameter.name] = parameter.default
            else:
                args.append(parameter.name)
                if kind is parameter.POSITIONAL_ONLY:
                    posonly_count += 1
                if parameter.default is not parameter.empty:
                    defaults.append(parameter.default)
        return cls(
            args,
            posonly_count,
            varargs,
            varkw,
            tuple(defaults) or None,
            kwonlyargs,
            kwonlydefaults or None,
        )

    def signature_source(self) -> str:
        """Parameters as written in a ``def`` (defaults are set afterwards)."""
        parts = list(self.args)
        if self.posonly_count:
            parts.insert(self.posonly_count, "/")
        if self.varargs:
            parts.append("*" + self.varargs)
        elif self.kwonlyargs:
            parts.append("*")
        parts.extend("%s=None" % name for name in self.kwonlyargs)
        if self.varkw:
            parts.append("**" + self.varkw)
        return ", ".join(parts)

    def call_source(self) -> str:
        """Arguments forwarding every parameter, as written in a call."""
        parts = list(self.args)
        if self.varargs:
            parts.append("*" + self.varargs)
        parts.extend("%s=%s" % (name, name) for name in self.kwonlyargs)
        if self.varkw:
            parts.append("**" + self.varkw)
        return ", ".join(parts)

    def names(self) -> List[str]:
        """Every parameter name."""
        names = self.args + self.kwonlyargs
        names.extend(name for name in (self.varargs, self.varkw) if name)
        return names


_compile_count = itertools.count()


@functools.lru_cache(maxsize=1024)
def _compile_function_source(source: str) -> CodeType:
    """Compile a module-level ``def``; cached, so re-decoration is cheap."""
    filename = "<decorator-gen-%d>" % next(_compile_count)
    return compile(source, filename, "exec")


def _define(source: str, name: str, namespace: Dict[str, Any]) -> FunctionType:
    """Run the ``def`` in ``source`` inside ``namespace``; return the function."""
    exec(_compile_function_source(source), namespace)
    function: FunctionType = namespace[name]
    return function


def _function_name(func: Any) -> str:
    """``func.__name__`` with lambdas renamed; rejects non-functions.

    ``__name__`` and ``__module__`` are read first, as in the classic module,
    so an object without them raises AttributeError before the check.
    """
    name: str
    name, _ = func.__name__, func.__module__
    if not inspect.isfunction(func):
        raise TypeError("You are decorating a non function: %s" % func)
    return "_lambda_" if name == "<lambda>" else name


def _unused_name(base: str, taken: Sequence[str]) -> str:
    name = base
    while name in taken:
        name = "_" + name
    return name


def decorate(func: F, caller: Callable[..., Any]) -> F:
    """Return a function with ``func``'s signature that runs ``caller``.

    Each call of the result evaluates ``caller(func, *args, **kwargs)`` with
    the arguments as bound by ``func``'s own parameter list (defaults filled
    in, keyword-only parameters passed by keyword). The result carries
    ``func``'s ``__name__`` (``'_lambda_'`` for lambdas), ``__qualname__``,
    ``__doc__``, ``__module__``, ``__defaults__``, ``__kwdefaults__``,
    ``__annotations__`` and a copy of its ``__dict__``, plus
    ``__wrapped__ = func``. If ``caller`` is a coroutine function the
    result is one too.

    Raises:
        AttributeError: ``func`` has no ``__name__`` or ``__module__`` (a
            callable instance, a ``functools.partial``, a method descriptor).
        TypeError: ``func`` is not a Python function.
    """
    name = _function_name(func)
    parameters = _ParameterList.of(func)
    taken = parameters.names()
    call_name = _unused_name("_call_", taken)
    func_name = _unused_name("_func_", taken)
    def_name = name if name.isidentifier() and not keyword.iskeyword(name) else "_decorated_"
    if inspect.iscoroutinefunction(caller):
        header, call = "async def", "await %s" % call_name
    else:
        header, call = "def", call_name
    source = "%s %s(%s):\n    return %s(%s)\n" % (
        header,
        def_name,
        parameters.signature_source(),
        call,
        ", ".join(filter(None, (func_name, parameters.call_source()))),
    )
    wrapper = _define(source, def_name, {call_name: caller, func_name: func})
    wrapper.__name__ = name
    wrapper.__qualname__ = func.__qualname__
    wrapper.__doc__ = func.__doc__
    wrapper.__module__ = func.__module__
    wrapper.__defaults__ = parameters.defaults
    wrapper.__kwdefaults__ = parameters.kwonlydefaults
    wrapper.__annotations__ = func.__annotations__
    wrapper.__dict__ = func.__dict__.copy()
    wrapper.__wrapped__ = func  # type: ignore[attr-defined]
    wrapper.__source__ = source  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# FunctionMaker: the general template-based API.


def _calling_module() -> str:
    """``__name__`` of the nearest calling module outside this one."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back  # type: ignore[assignment]
    return "?" if frame is None else frame.f_globals.get("__name__", "?")


class FunctionMaker:
    """Build functions from a source template and a signature.

    Describe the function either from an existing Python function ``func``
    (name, doc, module, ``__dict__`` copy, annotations and parameter list) or
    with ``name`` and ``signature`` (a parameter-list string); the other
    arguments override. Templates are ``%``-formatted against the instance
    attributes: ``name``, ``signature`` (parameters, keyword-only ones as
    ``k=None``), ``shortsignature`` (the forwarding call arguments),
    ``args``, ``arg0``, ``arg1``, ... .

    Not thread-safe as an object (``make`` mutates the new function from
    ``self``); distinct instances may be used concurrently.

    Raises:
        AttributeError: ``func`` has no ``__name__``.
        TypeError: ``func`` is not a Python function, or neither ``func``
            nor ``name`` and ``signature`` are given.
    """

    _compile_count = _compile_count

    def __init__(
        self,
        func: Optional[Callable[..., Any]] = None,
        name: Optional[str] = None,
        signature: Optional[str] = None,
        defaults: Optional[Tuple[Any, ...]] = None,
        doc: Optional[str] = None,
        module: Optional[str] = None,
        funcdict: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.shortsignature = signature
        if func:
            self.name = _function_name(func)
            self.doc = func.__doc__
            self.module = func.__module__
            self.annotations = getattr(func, "__annotations__", {})
            parameters = _ParameterList.of(func)
            self.args = parameters.args
            self.varargs = parameters.varargs
            self.varkw = parameters.varkw
            self.defaults = parameters.defaults
            self.kwonlyargs = parameters.kwonlyargs
            self.kwonlydefaults = parameters.kwonlydefaults
            for index, arg in enumerate(parameters.args):
                setattr(self, "arg%d" % index, arg)
            self.signature = parameters.signature_source()
            self.shortsignature = parameters.call_source()
            self.dict = func.__dict__.copy()
        if name:
            self.name = name
        if signature is not None:
            self.signature = signature
        if defaults is not None:
            self.defaults = defaults
        if doc is not None:
            self.doc = doc
        if module is not None:
            self.module = module
        if funcdict is not None:
            self.dict = funcdict
        if not hasattr(self, "name") or not hasattr(self, "signature"):
            raise TypeError("FunctionMaker needs a function, or a name and a signature")

    def update(self, func: FunctionType, **kw: Any) -> None:
        """Copy name, doc, ``__dict__``, defaults, annotations and module onto
        ``func``, then set the attributes in ``kw``."""
        func.__name__ = self.name
        func.__doc__ = getattr(self, "doc", None)
        func.__dict__ = getattr(self, "dict", {})
        func.__defaults__ = getattr(self, "defaults", ())
        func.__kwdefaults__ = getattr(self, "kwonlydefaults", None)
        func.__annotations__ = getattr(self, "annotations", None)  # type: ignore[assignment]
        func.__module__ = getattr(self, "module", None) or _calling_module()
        func.__dict__.update(kw)

    def make(
        self,
        src_templ: str,
        evaldict: Optional[Dict[str, Any]] = None,
        addsource: bool = False,
        **attrs: Any,
    ) -> FunctionType:
        """Compile ``src_templ % vars(self)`` in ``evaldict`` and return the
        function it defines, updated as by :meth:`update`.

        Raises:
            SyntaxError: the template does not start with ``def name(`` or
                does not compile (the source is printed to stderr).
            NameError: a parameter shadows ``_func_`` or ``_call_``.
        """
        source = src_templ % vars(self)
        evaldict = {} if evaldict is None else evaldict
        match = DEF.match(source)
        if match is None:
            raise SyntaxError("not a valid function template\n%s" % source)
        name = match.group(1)
        names = {name}
        names.update(arg.strip(" *") for arg in (self.shortsignature or "").split(","))
        for reserved in ("_func_", "_call_"):
            if reserved in names:
                raise NameError("%s is overridden in\n%s" % (reserved, source))
        if not source.endswith("\n"):
            source += "\n"
        try:
            func = _define(source, name, evaldict)
        except Exception:
            print("Error in generated code:", file=sys.stderr)
            print(source, file=sys.stderr)
            raise
        if addsource:
            attrs["__source__"] = source
        self.update(func, **attrs)
        return func

    @classmethod
    def create(
        cls,
        obj: Any,
        body: str,
        evaldict: Dict[str, Any],
        defaults: Optional[Tuple[Any, ...]] = None,
        doc: Optional[str] = None,
        module: Optional[str] = None,
        addsource: bool = True,
        **attrs: Any,
    ) -> FunctionType:
        """Make a function with ``body`` and the signature of ``obj``.

        ``obj`` is a Python function or a string ``'name(parameters)'``.
        """
        if isinstance(obj, str):
            name, rest = obj.strip().split("(", 1)
            maker = cls(None, name, rest[:-1], defaults, doc, module)
        else:
            maker = cls(obj, None, None, defaults, doc, module)
        indented = "\n".join("    " + line for line in body.splitlines())
        return maker.make("def %(name)s(%(signature)s):\n" + indented, evaldict, addsource, **attrs)


# ---------------------------------------------------------------------------
# decorator(): turning a caller into a decorator.


def decorator(caller: Callable[..., Any], _func: Optional[Callable[..., Any]] = None) -> Any:
    """Turn ``caller(func, *args, **kwargs)`` into a decorator.

    ``decorator(caller, func)`` is ``decorate(func, caller)``. Otherwise the
    result is a one-argument function (named after ``caller``, lowercased
    for a class or a callable instance) that decorates with ``caller``. A
    class as ``caller`` makes functions into factories of its instances:
    each call returns ``cls(func, *args, **kwargs)``.
    """
    if _func is not None:
        return decorate(_func, caller)
    if inspect.isclass(caller):
        name = caller.__name__.lower()
        doc: Optional[str] = "decorator(%s) converts functions/generators into factories of %s objects" % (
            caller.__name__,
            caller.__name__,
        )
    elif inspect.isfunction(caller):
        name = "_lambda_" if caller.__name__ == "<lambda>" else caller.__name__
        doc = caller.__doc__
    else:
        name = caller.__class__.__name__.lower()
        doc = caller.__call__.__doc__  # type: ignore[operator]
    return FunctionMaker.create(
        "%s(func)" % name,
        "return _decorate_(func, _call_)",
        {"_call_": caller, "_decorate_": decorate},
        doc=doc,
        module=caller.__module__,
        __wrapped__=caller,
    )


class ContextManager(_GeneratorContextManager):  # type: ignore[type-arg]
    """A generator-based context manager that is also a signature-preserving
    decorator; build it with :func:`contextmanager`.

    Each decorated call runs in a fresh context built from the same
    generator function and arguments.
    """

    def __init__(self, g: Callable[..., Any], *a: Any, **k: Any) -> None:
        _GeneratorContextManager.__init__(self, g, a, k)

    def _recreate_cm(self) -> ContextManager:
        return self.__class__(self.func, *self.args, **self.kwds)

    def __call__(self, func: F) -> F:  # type: ignore[override]
        def caller(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            with self._recreate_cm():
                return f(*args, **kwargs)

        return decorate(func, caller)


contextmanager = decorator(ContextManager)


# ---------------------------------------------------------------------------
# dispatch_on(): generic functions dispatching on argument types.


def append(a: type, vancestors: List[type]) -> None:
    """Add ``a`` to a list of virtual ancestors, keeping only the most
    specific classes: ``a`` replaces its superclasses already listed and is
    skipped if a subclass of it is listed."""
    add = True
    for index, ancestor in enumerate(vancestors):
        if issubclass(ancestor, a):
            add = False
            break
        if issubclass(a, ancestor):
            vancestors[index] = a
            add = False
    if add:
        vancestors.append(a)


def dispatch_on(*dispatch_args: str) -> Callable[[F], F]:
    """Make a decorator turning a function into a generic function that
    dispatches on the types of the named arguments.

    The generic function has ``register(*types)`` (a decorator adding an
    implementation), ``typemap``, ``default`` (the original function),
    ``vancestors(*types)``, ``ancestors(*types)`` and
    ``dispatch_info(*types)``. Dispatch follows each type's MRO, extended by
    at most one registered virtual ancestor (an ABC it is registered with).

    Not thread-safe while implementations are being registered.

    Raises:
        AssertionError: no argument names are given.
        NameError: (when decorating) an argument is not a parameter.
        TypeError: a type tuple or implementation has the wrong arity.
        RuntimeError: (when calling) a type has two candidate virtual
            ancestors.
    """
    if not dispatch_args:
        raise AssertionError("No dispatch args passed")
    dispatch_str = "(%s,)" % ", ".join(dispatch_args)
    arity = len(dispatch_args)

    def check_arity(arguments: Sequence[Any], wrong: Callable[[int, int], bool] = operator.ne, suffix: str = "") -> None:
        if wrong(len(arguments), arity):
            raise TypeError("Expected %d arguments, got %d%s" % (arity, len(arguments), suffix))

    def gen_func_dec(func: F) -> F:
        missing = set(dispatch_args) - set(getfullargspec(func).args)
        if missing:
            raise NameError("Unknown dispatch arguments %s" % dispatch_str)
        typemap: Dict[Tuple[type, ...], Callable[..., Any]] = {}

        def vancestors(*types: type) -> List[set]:
            """Registered types that are virtual (non-MRO) ancestors of each type."""
            check_arity(types)
            found: List[List[type]] = [[] for _ in range(arity)]
            for registered in typemap:
                for typ, candidate, ancestors_of_typ in zip(types, registered, found):
                    if issubclass(typ, candidate) and candidate not in typ.__mro__:
                        append(candidate, ancestors_of_typ)
            return [set(ancestors_of_typ) for ancestors_of_typ in found]

        def ancestors(*types: type) -> List[Tuple[type, ...]]:
            """The MRO of each type (extended by its virtual ancestor), without object."""
            check_arity(types)
            result = []
            for typ, virtual in zip(types, vancestors(*types)):
                if len(virtual) > 1:
                    raise RuntimeError("Ambiguous dispatch for %s: %s" % (typ, virtual))
                if virtual:
                    (ancestor,) = virtual
                    mro = type("t", (typ, ancestor), {}).__mro__[1:]
                else:
                    mro = typ.__mro__
                result.append(mro[:-1])
            return result

        def register(*types: type) -> Callable[[F], F]:
            """Decorator registering an implementation for ``types``."""
            check_arity(types)

            def add(implementation: F) -> F:
                check_arity(getfullargspec(implementation).args, operator.lt, " in " + implementation.__name__)
                typemap[types] = implementation
                return implementation

            return add

        def dispatch_info(*types: type) -> List[Tuple[str, ...]]:
            """Type-name tuples in the order implementations are looked up."""
            check_arity(types)
            return [tuple(t.__name__ for t in combination) for combination in itertools.product(*ancestors(*types))]

        def dispatch(dispatch_values: Tuple[Any, ...], *args: Any, **kw: Any) -> Any:
            types = tuple(type(value) for value in dispatch_values)
            implementation = typemap.get(types)
            if implementation is None:
                for combination in itertools.product(*ancestors(*types)):
                    implementation = typemap.get(combination)
                    if implementation is not None:
                        break
                else:
                    implementation = func
            return implementation(*args, **kw)

        return FunctionMaker.create(  # type: ignore[return-value]
            func,
            "return _f_(%s, %%(shortsignature)s)" % dispatch_str,
            {"_f_": dispatch},
            register=register,
            default=func,
            typemap=typemap,
            vancestors=vancestors,
            ancestors=ancestors,
            dispatch_info=dispatch_info,
            __wrapped__=func,
        )

    gen_func_dec.__name__ = "dispatch_on" + dispatch_str
    return gen_func_dec
