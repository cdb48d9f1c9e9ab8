"""One way of making things by name: augmentation ops, models and datasets each live in a Registry, added
with its decorator, and are built from a config's keyword arguments, which are checked against the
function's parameters before any work: a misspelled key is an error naming the valid ones, and a value that
does not fit its parameter's annotation (type, Literal, and a Range in Annotated[...]) an error naming the key,
what it must be and its default. A new function gets its checks from its signature: no hand-kept list."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from collections.abc import Sequence
from numbers import Real
from types import UnionType
from typing import Annotated, Callable, Iterable, Literal, Union, get_args, get_origin, get_type_hints

from ablate.errors import ConfigError


def import_all(package: str, path: Iterable[str]) -> None:
    """Import every module of a package once, so that each registers what it defines: a new file in a registry's
    package (a model, a logger) needs no import line anywhere. Call from the package's __init__:
    import_all(__name__, __path__)."""
    for module in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{module.name}")


class Registry:
    def __init__(self, kind: str, config_key: str, where: str):
        self.kind, self.config_key, self.where = kind, config_key, where   # e.g. "model", "model.name", a file
        self.entries: dict[str, Callable] = {}

    def register(self, name: str) -> Callable[[Callable], Callable]:
        def add(fn: Callable) -> Callable:
            self.entries[name] = fn
            return fn
        return add

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def __iter__(self):
        return iter(self.names())

    def __getitem__(self, name: str) -> Callable:
        return self.get(name)

    def names(self) -> list[str]:
        return sorted(self.entries)

    def get(self, name: str) -> Callable:
        if name not in self.entries:
            raise ConfigError(f"unknown {self.kind} {name!r} ({self.config_key}): use one of "
                              f"{', '.join(self.names())}, or register a new one in {self.where}")
        return self.entries[name]

    def accepts(self, name: str, key: str) -> bool:
        return key in inspect.signature(self.get(name)).parameters

    def check(self, name: str, params: dict, fixed: tuple[str, ...] = (), where: str | None = None) -> None:
        """Every key in `params` must be a parameter of the function (those in `fixed` are passed by ablate), and
        its value fit the parameter's annotation; `where` is the config path named in errors (e.g. aug.ops[1])."""
        fn = self.get(name)
        sig = inspect.signature(fn)
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return
        allowed = [p for p in sig.parameters if p not in fixed]
        unknown = sorted(set(params) - set(sig.parameters))
        if unknown:
            raise ConfigError(f"{self.kind} {name!r} has no parameter {', '.join(unknown)}: its parameters are "
                              f"{', '.join(allowed) or '(none)'} (check the spelling in the config or overrides)")
        defaults = {k: p.default for k, p in sig.parameters.items() if p.default is not p.empty}
        check_values(where or self.config_key.rsplit(".", 1)[0], params, parameter_hints(fn), defaults,
                     what=f"{self.kind} {name}" if where else "")

    def build(self, name: str, fixed: tuple[str, ...] = (), **params):
        self.check(name, params, fixed)
        return self.get(name)(**params)


# --- values: a parameter's type and range, read from its annotation, checked before any work --------------------
@dataclass(frozen=True)
class Range:
    """The closed (or, with *_open, open) interval a number must lie in; None: unbounded on that side."""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def holds(self, v) -> bool:
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        return self.high is None or (v < self.high if self.high_open else v <= self.high)

    def describe(self) -> str:
        lo = None if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        hi = None if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        return " and ".join(filter(None, [lo, hi]))


# the ranges parameters use most: a registered function's annotation is its check
Prob = Annotated[float, Range(0, 1)]                          # a probability in [0, 1]
Fraction = Annotated[float, Range(0, 1, high_open=True)]      # in [0, 1)
NonNegative = Annotated[float, Range(0)]
Positive = Annotated[float, Range(0, low_open=True)]
PositiveInt = Annotated[int, Range(1)]
NonNegativeInt = Annotated[int, Range(0)]
Byte = Annotated[int, Range(0, 255)]                          # a uint8 pixel value


def _is(v, kind) -> bool:
    if kind is bool:
        return isinstance(v, bool)
    if kind is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if kind is float:
        return isinstance(v, Real) and not isinstance(v, bool)
    return isinstance(v, kind) if isinstance(kind, type) else True


def _is_list(v) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, (str, bytes))     # a list, a tuple, OmegaConf's ListConfig


def value_problem(value, annotation) -> str | None:
    """What `value` must be, when it does not fit `annotation` (None when it does, or the annotation says
    nothing checkable): the type (int, float, bool, str, Literal, Optional, list/tuple of ...) and any Range."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        base, *extras = args
        problem = value_problem(value, base)
        if problem:
            return problem
        for r in (e for e in extras if isinstance(e, Range)):
            if not r.holds(value):
                return f"{'an integer' if base is int else 'a number'} {r.describe()}"
        return None
    if origin is Literal:
        return None if value in args else f"one of {', '.join(map(repr, args))}"
    if origin in (Union, UnionType):
        problems = [value_problem(value, a) for a in args]
        if any(p is None for p in problems):
            return None
        parts = [part for p in problems if p for part in p.split(" or ")]
        return ", ".join(parts[:-1]) + f" or {parts[-1]}" if len(parts) > 1 else parts[0]
    if origin in (list, tuple) and args:
        if not _is_list(value):
            return "a list"
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                return f"a list of {len(args)}"
            inners = list(args)
        else:
            inners = [args[0]] * len(value)
        for v, a in zip(value, inners):
            problem = value_problem(v, a)
            if problem:
                return f"a list whose entries are each {problem}"
        return None
    if annotation in (list, tuple):
        return None if _is_list(value) else "a list"
    if annotation is type(None):
        return None if value is None else "null"
    if annotation in (int, float, bool, str):
        return None if _is(value, annotation) else {int: "an integer", float: "a number", bool: "true or false",
                                                        str: "a string"}[annotation]
    return None


def parameter_hints(fn) -> dict:
    """fn's parameter annotations, resolved (Annotated kept), {} when they cannot be resolved."""
    try:
        return get_type_hints(fn, include_extras=True)
    except Exception:  # noqa: BLE001 - a forward reference we cannot resolve: no checks, never a crash
        return {}


def check_values(where: str, params: dict, hints: dict, defaults: dict | None = None, what: str = "") -> None:
    """Each of params against its annotation: a ConfigError naming where.KEY (what: e.g. "(augmentation op
    cutout)"), what it must be and its default as an example."""
    for key, value in params.items():
        if key not in hints:
            continue
        problem = value_problem(value, hints[key])
        if problem:
            example = (defaults or {}).get(key, inspect.Parameter.empty)
            hint = f": set e.g. {where}.{key}={_yaml(example)} (its default)" if example is not inspect.Parameter.empty \
                else ""
            raise ConfigError(f"{where}.{key}{f' ({what})' if what else ''} must be {problem}, got {value!r}{hint}")


def _yaml(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if v is None:
        return "null"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_yaml(x) for x in v) + "]"
    return str(v)
