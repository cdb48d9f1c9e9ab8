"""What a run computes, as opposed to where and how it ran: the composed config minus placement keys.

Two runs with the same identity measure the same thing, however their overrides were spelled; a checkpoint
resumes only a run of its own identity.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from ablate.config.schema import placement_keys

# where a run reads its data, which device it ran on, how it logs and saves: never part of what it measures
PLACEMENT_KEYS = (*placement_keys("data"), *placement_keys("trainer"))   # marked in their schemas
PLACEMENT_GROUPS = ("logger",)   # whole nodes: where a run is watched (TensorBoard, MLflow)


def is_placement(key: str) -> bool:
    return key in PLACEMENT_KEYS or key.split(".")[0] in PLACEMENT_GROUPS


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def value_at(tree: dict, dotted: str) -> Any:
    """The value an override's dotted key sets, lists indexed by number ('aug.ops.1.op'); None where absent."""
    node: Any = tree
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def identity(config: dict, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The flattened config without placement keys (and without the keys in `drop`, e.g. "seed")."""
    return {k: v for k, v in flatten(config).items() if not is_placement(k) and k not in drop}


def identity_hash(ident: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """'key: old -> new' for every key whose value differs (or exists on one side only)."""
    missing = "(absent)"
    return [f"{k}: {old.get(k, missing)!r} -> {new.get(k, missing)!r}"
            for k in sorted(set(old) | set(new)) if old.get(k, missing) != new.get(k, missing)]


def conflicts(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """'key: old -> new' for every key both identities hold with different values. A key only one side holds is
    a key added to (or dropped from) the config since the older one was written, with the behaviour of its
    default: not a conflict, or every record would stop matching when a key is added."""
    return [f"{k}: {old[k]!r} -> {new[k]!r}" for k in sorted(set(old) & set(new)) if old[k] != new[k]]
