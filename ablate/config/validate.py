"""Check a composed config before any work, so a bad value ends with a message that names the key and the fix."""
from __future__ import annotations

from numbers import Real

from ablate.data.registry import needs_root
from ablate.errors import ConfigError
from ablate.config.schema import checks


def _get(cfg, dotted: str):
    node = cfg
    for part in dotted.split("."):
        if part not in node:
            raise ConfigError(f"the config has no key {dotted}: add it, or check the spelling in your overrides")
        node = node[part]
    return node


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _need(cond: bool, key: str, value, what: str, example: str) -> None:
    if not cond:
        raise ConfigError(f"{key} must be {what}, got {value!r} ({type(value).__name__}): "
                          f"set e.g. {key}={example}")


CHECKS = checks("trainer") + checks("data") + [
    # key, predicate, description, example (the trainer's and the data's shared keys' come from their schema;
    # optim's and schedule's types and ranges from OptimSettings' and ScheduleSettings' annotations, in
    # ablate.job.spec; here only what crosses keys)
    ("seed", lambda v: _is_int(v) and v >= 0, "an integer >= 0", "0"),
]


# checked only where the chosen option has the key (a loss without label smoothing has none)
WHERE_PRESENT = [("loss.label_smoothing", lambda v: _is_num(v) and 0 <= v < 1, "a number in [0, 1)", "0.1")]


def validate(cfg) -> None:
    for key, ok, what, example in CHECKS:
        value = _get(cfg, key)
        _need(ok(value), key, value, what, example)
    for key, ok, what, example in WHERE_PRESENT:
        group, _, name = key.partition(".")
        if name in cfg.get(group, {}):
            _need(ok(cfg[group][name]), key, cfg[group][name], what, example)
    warmup, epochs = cfg.schedule.get("warmup_epochs") or 0, cfg.trainer.epochs
    if _is_num(warmup) and warmup > 0 and warmup >= epochs:
        raise ConfigError(f"schedule.warmup_epochs={warmup} is not shorter than the run (trainer.epochs={epochs}): "
                          f"the lr would never reach its peak; set e.g. schedule.warmup_epochs={max(epochs // 10, 1)} "
                          f"or fewer")
    milestones = cfg.schedule.get("milestones")
    if cfg.schedule.name == "step" and milestones is not None:
        ok = all(_is_num(m) and 0 < m < 1 for m in milestones) and list(milestones) == sorted(milestones)
        _need(ok, "schedule.milestones", list(milestones), "rising fractions of the run in (0, 1) (not epochs)",
              "[0.5,0.75]")
    if cfg.schedule.name == "piecewise":
        knots, values = list(cfg.schedule.get("knots") or []), list(cfg.schedule.get("values") or [])
        ok = len(knots) >= 2 and all(_is_num(k) for k in knots) and knots[0] == 0 and knots[-1] == 1 and \
            all(a < b for a, b in zip(knots, knots[1:]))
        _need(ok, "schedule.knots", knots, "fractions of the run rising from 0 to 1 (at least two)", "[0,0.23,1]")
        if len(values) != len(knots):
            raise ConfigError(f"schedule.values has {len(values)} entries and schedule.knots {len(knots)}: give one "
                              f"lr multiplier per knot, e.g. schedule.knots=[0,0.23,1] schedule.values=[0.2,1,0.07]")
    momentum = cfg.optim.get("momentum") or 0      # its type and range: OptimSettings', checked next
    if cfg.optim.get("nesterov") is True and _is_num(momentum) and not momentum > 0:
        raise ConfigError("optim.nesterov=true needs optim.momentum > 0: set optim.momentum=0.9 "
                          "(or optim.nesterov=false)")
    if needs_root(cfg.data.name) and not cfg.data.get("root"):
        raise ConfigError(f"data.root is empty: set data.root to the folder that holds the {cfg.data.name} data")
