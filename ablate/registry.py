"""One way of making things by name: augmentation ops, models and datasets each live in a Registry, added
with its decorator, and are built from a config's keyword arguments, which are checked against the
function's parameters before any work (a misspelled key is an error naming the valid ones)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Callable, Iterable

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

    def check(self, name: str, params: dict, fixed: tuple[str, ...] = ()) -> None:
        """Every key in `params` must be a parameter of the function (those in `fixed` are passed by ablate)."""
        fn = self.get(name)
        sig = inspect.signature(fn)
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return
        allowed = [p for p in sig.parameters if p not in fixed]
        unknown = sorted(set(params) - set(sig.parameters))
        if unknown:
            raise ConfigError(f"{self.kind} {name!r} has no parameter {', '.join(unknown)}: its parameters are "
                              f"{', '.join(allowed) or '(none)'} (check the spelling in the config or overrides)")

    def build(self, name: str, fixed: tuple[str, ...] = (), **params):
        self.check(name, params, fixed)
        return self.get(name)(**params)
