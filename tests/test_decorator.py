"""prometheus_client.decorator: signature-preserving decoration and the rest
of the decorator-4.0.10 API."""
from __future__ import annotations

import abc
import asyncio
import collections.abc
import functools
import inspect
import keyword
import textwrap
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prometheus_client import decorator as decorator_module
from prometheus_client.decorator import (
    ArgSpec,
    ContextManager,
    FunctionMaker,
    append,
    contextmanager,
    decorate,
    decorator,
    dispatch_on,
    get_init,
    getargspec,
)


class RecordingCaller:
    """A caller that records what each call passes on and then calls through."""

    def __init__(self) -> None:
        self.calls: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = []

    def __call__(self, func, *args, **kwargs):
        self.calls.append((args, kwargs))
        return func(*args, **kwargs)


# ---------------------------------------------------------------------------
# decorate(): signature shapes


def no_parameters():
    return "none"


def positional(a, b):
    return a, b


def with_defaults(a, b=2, c=None):
    return a, b, c


def var_positional(a, *args):
    return a, args


def keyword_only(a, *, k, m=5):
    return a, k, m


def var_keyword(**kw):
    return kw


def everything(a, b=1, *args, c, d=2, **kw) -> int:
    """Every kind of parameter."""
    return a


def positional_only(a, b=3, /, c=4):
    return a, b, c


def annotated(x: int, y: "str" = "y") -> None:
    return None


SHAPES = [
    no_parameters,
    positional,
    with_defaults,
    var_positional,
    keyword_only,
    var_keyword,
    everything,
    positional_only,
    annotated,
]


@pytest.mark.parametrize("func", SHAPES, ids=lambda f: f.__name__)
def test_decorate_preserves_signature_and_metadata(func):
    decorated = decorate(func, RecordingCaller())

    assert inspect.signature(decorated) == inspect.signature(func)
    assert getargspec(decorated) == getargspec(func)
    assert inspect.getfullargspec(decorated) == inspect.getfullargspec(func)
    assert decorated.__name__ == func.__name__
    assert decorated.__qualname__ == func.__qualname__
    assert decorated.__doc__ == func.__doc__
    assert decorated.__module__ == func.__module__
    assert decorated.__annotations__ == func.__annotations__
    assert decorated.__defaults__ == func.__defaults__
    assert decorated.__kwdefaults__ == func.__kwdefaults__
    assert decorated.__wrapped__ is func
    assert inspect.isfunction(decorated)
    assert decorated is not func


def test_the_wrapper_itself_has_the_signature_not_only_through_wrapped():
    decorated = decorate(everything, RecordingCaller())
    own = inspect.signature(decorated, follow_wrapped=False)
    assert own == inspect.signature(everything)


def test_getargspec_of_decorated_single_argument_function():
    def f(r):
        return r

    assert getargspec(decorate(f, RecordingCaller())) == (["r"], None, None, None)


def test_every_call_goes_through_the_caller_with_defaults_filled_in():
    caller = RecordingCaller()
    decorated = decorate(everything, caller)

    assert decorated(10, c=3) == 10
    assert decorated(10, 20, 30, c=3, d=4, extra=5) == 10
    assert caller.calls == [
        ((10, 1), {"c": 3, "d": 2}),
        ((10, 20, 30), {"c": 3, "d": 4, "extra": 5}),
    ]


def test_return_value_and_exceptions_pass_through_unchanged():
    error = ValueError("boom")

    def fails():
        raise error

    with pytest.raises(ValueError) as raised:
        decorate(fails, RecordingCaller())()
    assert raised.value is error
    assert decorate(with_defaults, RecordingCaller())(1) == (1, 2, None)


def test_bad_arguments_fail_before_the_caller_runs():
    caller = RecordingCaller()
    decorated = decorate(positional, caller)

    with pytest.raises(TypeError, match="missing 1 required positional argument: 'b'"):
        decorated(1)
    with pytest.raises(TypeError):
        decorated(1, 2, 3)
    with pytest.raises(TypeError):
        decorate(keyword_only, caller)(1)  # k is required
    assert caller.calls == []


def test_positional_only_parameters_stay_positional_only():
    decorated = decorate(positional_only, RecordingCaller())
    assert decorated(1) == (1, 3, 4)
    with pytest.raises(TypeError):
        decorated(a=1)


def test_dict_is_copied_and_annotations_are_shared():
    def f(x: int) -> int:
        return x

    f.custom = "value"
    decorated = decorate(f, RecordingCaller())

    assert decorated.custom == "value"
    assert decorated.__dict__ is not f.__dict__
    decorated.other = 1
    assert not hasattr(f, "other")
    assert decorated.__annotations__ is f.__annotations__


def test_qualname_of_nested_function():
    def inner():
        pass

    decorated = decorate(inner, RecordingCaller())
    assert decorated.__qualname__ == "test_qualname_of_nested_function.<locals>.inner"


def test_lambda_is_renamed():
    decorated = decorate(lambda x: x, RecordingCaller())
    assert decorated.__name__ == "_lambda_"
    assert decorated(3) == 3


def test_parameters_named_like_the_internals_still_work():
    def f(_func_, _call_, __call_=1):
        return _func_, _call_, __call_

    assert decorate(f, RecordingCaller())("a", "b") == ("a", "b", 1)


def test_non_identifier_name_still_decorates():
    def f():
        return 1

    f.__name__ = "not an identifier"
    decorated = decorate(f, RecordingCaller())
    assert decorated.__name__ == "not an identifier"
    assert decorated() == 1


def test_decorating_a_builtin_raises_type_error():
    with pytest.raises(TypeError) as raised:
        decorate(len, RecordingCaller())
    assert str(raised.value) == "You are decorating a non function: <built-in function len>"


@pytest.mark.parametrize("obj", [int, print, len])
def test_decorating_other_named_callables_raises_type_error(obj):
    with pytest.raises(TypeError, match="You are decorating a non function"):
        decorate(obj, RecordingCaller())


def test_decorating_a_method_descriptor_raises_attribute_error():
    # As in the classic module: __module__ is read before the function check.
    with pytest.raises(AttributeError, match="__module__"):
        decorate(str.upper, RecordingCaller())


def test_decorating_a_callable_instance_raises_attribute_error():
    class Callable:
        def __call__(self):
            pass

    with pytest.raises(AttributeError, match="__name__"):
        decorate(Callable(), RecordingCaller())
    with pytest.raises(AttributeError, match="__name__"):
        decorate(functools.partial(positional, 1), RecordingCaller())


def test_decorating_twice_keeps_the_signature():
    twice = decorate(decorate(everything, RecordingCaller()), RecordingCaller())
    assert inspect.signature(twice) == inspect.signature(everything)
    assert getargspec(twice) == getargspec(everything)
    assert twice(1, c=2) == 1


def test_methods_keep_working_when_decorated():
    class Service:
        def handle(self, request, *, retries=0):
            return self, request, retries

        handle = decorate(handle, RecordingCaller())

    service = Service()
    assert service.handle("req") == (service, "req", 0)
    assert str(inspect.signature(service.handle)) == "(request, *, retries=0)"
    assert getargspec(service.handle).args == ["self", "request"]


def test_sync_caller_on_a_coroutine_function_gives_a_plain_function():
    async def coroutine_function(x):
        return x

    decorated = decorate(coroutine_function, RecordingCaller())
    assert not inspect.iscoroutinefunction(decorated)
    assert asyncio.run(decorated(5)) == 5


def test_coroutine_caller_gives_a_coroutine_function():
    seen = []

    async def async_caller(func, *args, **kwargs):
        seen.append(args)
        return await func(*args, **kwargs)

    async def coroutine_function(x, y=2):
        await asyncio.sleep(0)
        return x + y

    decorated = decorate(coroutine_function, async_caller)
    assert inspect.iscoroutinefunction(decorated)
    assert inspect.signature(decorated) == inspect.signature(coroutine_function)
    assert asyncio.run(decorated(1)) == 3
    assert seen == [(1, 2)]


def test_generator_function_decorated_by_plain_caller_returns_the_generator():
    def numbers(n):
        yield from range(n)

    decorated = decorate(numbers, RecordingCaller())
    assert list(decorated(3)) == [0, 1, 2]


# ---------------------------------------------------------------------------
# decorate(): property test over random parameter lists

NAMES = ["a", "b", "c", "d", "e", "f", "args", "kw", "_func_", "_call_", "x1"]


@st.composite
def parameter_lists(draw):
    """(posonly, normal, varargs, kwonly, varkw, defaults) with unique names.

    ``defaults`` maps each parameter that has a default to its value.
    """
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
    names = iter(names)
    take = lambda count: [name for _, name in zip(range(count), names)]  # noqa: E731
    posonly = take(draw(st.integers(0, 2)))
    normal = take(draw(st.integers(0, 3)))
    varargs = next(names, None) if draw(st.booleans()) else None
    kwonly = take(draw(st.integers(0, 3)))
    varkw = next(names, None) if draw(st.booleans()) else None
    defaults = {}
    positional = posonly + normal
    first_default = draw(st.integers(0, len(positional)))
    for name in positional[first_default:]:
        defaults[name] = draw(st.integers())
    for name in kwonly:
        if draw(st.booleans()):
            defaults[name] = draw(st.integers())
    return posonly, normal, varargs, kwonly, varkw, defaults


def build_function(posonly, normal, varargs, kwonly, varkw, defaults):
    """Compile a function with this parameter list that returns its locals."""

    def spell(name):
        return "%s=%r" % (name, defaults[name]) if name in defaults else name

    parts = [spell(name) for name in posonly]
    if posonly:
        parts.append("/")
    parts += [spell(name) for name in normal]
    if varargs:
        parts.append("*" + varargs)
    elif kwonly:
        parts.append("*")
    parts += [spell(name) for name in kwonly]
    if varkw:
        parts.append("**" + varkw)
    source = "def generated(%s):\n    return dict(locals())\n" % ", ".join(parts)
    namespace: Dict[str, Any] = {}
    exec(source, namespace)
    return namespace["generated"]


@settings(max_examples=200, deadline=None)
@given(parameter_lists(), st.data())
def test_random_signatures_are_preserved_and_calls_forwarded(parameters, data):
    posonly, normal, varargs, kwonly, varkw, defaults = parameters
    func = build_function(*parameters)
    caller = RecordingCaller()
    decorated = decorate(func, caller)

    assert inspect.signature(decorated) == inspect.signature(func)
    assert inspect.signature(decorated, follow_wrapped=False) == inspect.signature(func)
    assert getargspec(decorated) == getargspec(func)

    # A valid call: every positional parameter given (some by keyword when
    # allowed), keyword-only ones by keyword, extra arguments for * and **.
    args: List[Any] = [name.upper() for name in posonly]
    kwargs: Dict[str, Any] = {}
    by_keyword = False
    for name in normal:
        by_keyword = by_keyword or data.draw(st.booleans())
        if by_keyword:
            kwargs[name] = name.upper()
        else:
            args.append(name.upper())
    if varargs and not by_keyword:
        args.extend(data.draw(st.lists(st.integers(), max_size=2)))
    for name in kwonly:
        if name not in defaults or data.draw(st.booleans()):
            kwargs[name] = name.upper()
    if varkw:
        kwargs["zz_extra"] = "extra"

    assert decorated(*args, **kwargs) == func(*args, **kwargs)
    assert len(caller.calls) == 1


# ---------------------------------------------------------------------------
# getargspec, ArgSpec, get_init, append, version


def test_argspec_is_a_four_field_named_tuple():
    assert ArgSpec._fields == ("args", "varargs", "varkw", "defaults")
    spec = getargspec(everything)
    assert spec == ArgSpec(["a", "b"], "args", "kw", (1,))
    assert spec.args == ["a", "b"]


def test_getargspec_follows_getfullargspec_rules():
    class Widget:
        def __init__(self, size):
            pass

        def resize(self, factor=2):
            pass

    assert getargspec(Widget) == (["self", "size"], None, None, None)
    assert getargspec(Widget(1).resize) == (["self", "factor"], None, None, (2,))
    assert getargspec(keyword_only) == (["a"], None, None, None)
    wrapper = functools.wraps(positional)(lambda *a, **k: None)
    assert getargspec(wrapper) == ([], "a", "k", None)  # __wrapped__ not followed
    with pytest.raises(TypeError):
        getargspec(42)


def test_get_init():
    class Widget:
        def __init__(self):
            pass

    assert get_init(Widget) is Widget.__init__


def test_append_keeps_most_specific_classes():
    class Base:
        pass

    class Left(Base):
        pass

    class Right(Base):
        pass

    ancestors: List[type] = []
    append(Left, ancestors)
    append(Base, ancestors)  # a subclass is already listed
    assert ancestors == [Left]
    append(Right, ancestors)
    append(Left, ancestors)
    assert ancestors == [Left, Right]
    ancestors = [Base]
    append(Left, ancestors)  # replaces its superclass
    assert ancestors == [Left]


def test_version_and_exports():
    assert decorator_module.__version__ == "4.0.10"
    for name in (
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
        "DEF",
    ):
        assert hasattr(decorator_module, name)


# ---------------------------------------------------------------------------
# decorator()


def trace(func, *args, **kwargs):
    """Trace calls."""
    trace.log.append((func.__name__, args, kwargs))
    return func(*args, **kwargs)


trace.log = []


@pytest.fixture
def trace_log():
    trace.log.clear()
    return trace.log


def test_decorator_makes_a_decorator_from_a_caller(trace_log):
    traced = decorator(trace)
    assert traced.__name__ == "trace"
    assert traced.__doc__ == "Trace calls."
    assert traced.__module__ == __name__
    assert traced.__wrapped__ is trace
    assert getargspec(traced) == (["func"], None, None, None)

    decorated = traced(with_defaults)
    assert inspect.signature(decorated) == inspect.signature(with_defaults)
    assert decorated(1, c=3) == (1, 2, 3)
    assert trace_log == [("with_defaults", (1, 2, 3), {})]  # bound, then passed positionally


def test_decorator_with_func_decorates_directly(trace_log):
    decorated = decorator(trace, positional)
    assert decorated.__wrapped__ is positional
    assert decorated(1, 2) == (1, 2)
    assert trace_log == [("positional", (1, 2), {})]


def test_decorator_of_a_lambda_and_of_a_callable_instance():
    assert decorator(lambda f, *a, **k: f(*a, **k)).__name__ == "_lambda_"

    class Doubling:
        def __call__(self, func, *args, **kwargs):
            """Double the result."""
            return 2 * func(*args, **kwargs)

    doubling = decorator(Doubling())
    assert doubling.__name__ == "doubling"
    assert doubling.__doc__ == "Double the result."
    assert doubling(no_parameters)() == "nonenone"


def test_decorator_of_a_class_makes_factories():
    class Job:
        def __init__(self, func, *args):
            self.func = func
            self.args = args

    job = decorator(Job)
    assert job.__name__ == "job"
    assert job.__doc__ == "decorator(Job) converts functions/generators into factories of Job objects"
    factory = job(with_defaults)
    assert inspect.signature(factory) == inspect.signature(with_defaults)
    made = factory(1)
    assert isinstance(made, Job)
    assert made.func is with_defaults
    assert made.args == (1, 2, None)


# ---------------------------------------------------------------------------
# contextmanager / ContextManager


def test_contextmanager_as_with_block_and_as_decorator():
    events = []

    @contextmanager
    def tagged(tag):
        events.append("enter " + tag)
        yield tag.upper()
        events.append("exit " + tag)

    assert inspect.signature(tagged) == inspect.signature(tagged.__wrapped__)
    with tagged("a") as value:
        events.append(value)
    assert isinstance(tagged("b"), ContextManager)

    @tagged("d")
    def work(x):
        events.append("work %s" % x)
        return x

    assert inspect.signature(work) == inspect.signature(work.__wrapped__)
    assert work(1) == 1
    assert work(2) == 2  # a fresh context each call
    assert events == ["enter a", "A", "exit a", "enter d", "work 1", "exit d", "enter d", "work 2", "exit d"]


def test_contextmanager_metadata():
    assert contextmanager.__name__ == "contextmanager"
    assert contextmanager.__wrapped__ is ContextManager
    assert "factories of ContextManager objects" in contextmanager.__doc__


# ---------------------------------------------------------------------------
# FunctionMaker


def test_function_maker_describes_a_function():
    maker = FunctionMaker(everything)
    assert maker.name == "everything"
    assert maker.signature == "a, b, *args, c=None, d=None, **kw"
    assert maker.shortsignature == "a, b, *args, c=c, d=d, **kw"
    assert (maker.arg0, maker.arg1) == ("a", "b")
    assert maker.defaults == (1,)
    assert maker.kwonlydefaults == {"d": 2}
    assert maker.doc == "Every kind of parameter."
    assert FunctionMaker(lambda x: x).name == "_lambda_"


def test_function_maker_create_from_a_string():
    made = FunctionMaker.create("area(width, height)", "return width * height", {}, doc="Area.")
    assert made(2, 3) == 6
    assert made.__name__ == "area"
    assert made.__doc__ == "Area."
    assert made.__module__ == __name__  # the calling module
    assert made.__source__ == "def area(width, height):\n    return width * height\n"


def test_function_maker_create_from_a_function_with_extra_attributes():
    namespace = {"_impl_": lambda *args, **kwargs: (args, kwargs)}
    made = FunctionMaker.create(
        everything,
        "return _impl_(%(shortsignature)s)",
        namespace,
        __wrapped__=everything,
        marker=1,
    )
    assert made(0, c=5) == ((0, 1), {"c": 5, "d": 2})
    assert made.marker == 1
    assert inspect.signature(made) == inspect.signature(everything)
    assert namespace["everything"] is made


def test_function_maker_make_with_explicit_description():
    maker = FunctionMaker(name="add", signature="x, y", defaults=(10,), doc="Add.", module="mod", funcdict={"z": 1})
    made = maker.make("def %(name)s(%(signature)s): return x + y", {}, addsource=True, extra=2)
    assert made(1) == 11
    assert (made.__doc__, made.__module__, made.z, made.extra) == ("Add.", "mod", 1, 2)
    assert made.__source__ == "def add(x, y): return x + y\n"


def test_function_maker_errors(capsys):
    with pytest.raises(SyntaxError, match="not a valid function template"):
        FunctionMaker(name="g", signature="x").make("lambda: %(name)s", {})
    with pytest.raises(SyntaxError):
        FunctionMaker(name="g", signature="x").make("def %(name)s(x) return", {})
    assert "Error in generated code:" in capsys.readouterr().err
    with pytest.raises(NameError, match="_func_ is overridden in"):
        FunctionMaker.create("g(_func_)", "return 1", {})
    with pytest.raises(TypeError, match="You are decorating a non function: <built-in function len>"):
        FunctionMaker(len)
    with pytest.raises(TypeError):
        FunctionMaker()


def test_function_maker_update():
    maker = FunctionMaker(with_defaults)

    def target():
        pass

    maker.update(target, tag="t")
    assert target.__name__ == "with_defaults"
    assert target.__defaults__ == (2, None)
    assert target.tag == "t"
    assert target.__module__ == __name__


# ---------------------------------------------------------------------------
# dispatch_on


class Shape:
    pass


class Square(Shape):
    pass


class Circle(Shape):
    pass


def make_area():
    @dispatch_on("shape")
    def area(shape, scale=1):
        """Area of a shape."""
        raise NotImplementedError(type(shape))

    @area.register(Square)
    def area_square(shape, scale=1):
        return "square x%d" % scale

    return area


def test_dispatch_on_dispatches_on_the_argument_type():
    area = make_area()
    assert area.__name__ == "area"
    assert area.__doc__ == "Area of a shape."
    assert str(inspect.signature(area)) == "(shape, scale=1)"
    assert area(Square(), scale=2) == "square x2"
    with pytest.raises(NotImplementedError):
        area(Circle())
    assert list(area.typemap) == [(Square,)]
    assert area.default.__name__ == "area"
    assert area.dispatch_info(Square) == [("Square",), ("Shape",)]
    assert area.ancestors(Square) == [(Square, Shape)]
    assert area.vancestors(Square) == [set()]


def test_dispatch_on_falls_back_to_registered_base_classes():
    area = make_area()

    @area.register(Shape)
    def area_shape(shape, scale=1):
        return "shape"

    class BigSquare(Square):
        pass

    assert area(BigSquare()) == "square x1"
    assert area(Circle()) == "shape"


def test_dispatch_on_virtual_ancestors():
    @dispatch_on("obj")
    def size(obj):
        return "unknown"

    @size.register(collections.abc.Sized)
    def size_sized(obj):
        return len(obj)

    class Bag:
        def __len__(self):
            return 3

    assert size(Bag()) == 3
    assert size(5) == "unknown"
    assert size.vancestors(Bag) == [{collections.abc.Sized}]
    assert size.dispatch_info(Bag) == [("Bag",), ("Sized",)]

    @size.register(collections.abc.Iterable)
    def size_iterable(obj):
        return "iterable"

    with pytest.raises(RuntimeError, match="Ambiguous dispatch for <class 'list'>"):
        size([1])


def test_dispatch_on_several_arguments():
    @dispatch_on("a", "b")
    def combine(a, b):
        return "default"

    @combine.register(int, str)
    def combine_int_str(a, b):
        return "int-str"

    assert combine(True, "x") == "int-str"  # bool -> int
    assert combine("x", 1) == "default"
    assert combine.dispatch_info(bool, str)[:2] == [("bool", "str"), ("int", "str")]
    with pytest.raises(TypeError, match="Expected 2 arguments, got 1"):
        combine.register(int)
    with pytest.raises(TypeError, match="Expected 2 arguments, got 1"):
        combine.dispatch_info(int)


def test_dispatch_on_errors():
    with pytest.raises(AssertionError, match="No dispatch args passed"):
        dispatch_on()
    assert dispatch_on("x", "y").__name__ == "dispatch_on(x, y,)"
    with pytest.raises(NameError, match=r"Unknown dispatch arguments \(zz,\)"):
        dispatch_on("zz")(positional)
    area = make_area()
    with pytest.raises(TypeError, match="Expected 1 arguments, got 0 in bad"):

        @area.register(Circle)
        def bad():
            pass


def test_dispatch_on_with_abstract_base_class():
    class Plugin(abc.ABC):
        pass

    class Mine:
        pass

    Plugin.register(Mine)

    @dispatch_on("p")
    def describe(p):
        return "other"

    @describe.register(Plugin)
    def describe_plugin(p):
        return "plugin"

    assert describe(Mine()) == "plugin"
    assert describe(object()) == "other"


def test_no_python_keyword_is_a_valid_function_name_in_templates():
    # Guard for the non-identifier fallback in decorate(): keywords are names
    # a function can carry (via __name__) but not be compiled with.
    def f():
        return "ok"

    f.__name__ = keyword.kwlist[0]
    assert decorate(f, RecordingCaller())() == "ok"


def test_source_is_recorded():
    decorated = decorate(positional, RecordingCaller())
    assert decorated.__source__ == textwrap.dedent(
        """\
        def positional(a, b):
            return _call_(_func_, a, b)
        """
    )
