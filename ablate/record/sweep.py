"""Sweep folders -> pandas: one row per run (completed, failed, interrupted or missing), and histories."""
from __future__ import annotations

import functools
from itertools import product
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ablate.record import files as records
from ablate.record.metrics import RECORD_METRICS
from ablate.record.identity import flatten, identity, identity_hash, is_placement, value_at
from ablate.config.naming import bare_override, job_dirname, override_key

log = logging.getLogger("ablate")
# config groups that name a bundle of other choices rather than a choice of their own
BUNDLES = ("rung", "experiment")
METRICS = RECORD_METRICS      # the metric columns of the runs frame, from the one metric table


def not_identity(key: str) -> bool:
    """A key that says where or how a job ran (seed, placement, Hydra's own), never part of a configuration."""
    return key == "seed" or key.startswith(("hydra.", "hydra/")) or is_placement(key)


def config_key(overrides: list[str]) -> str:
    """A configuration: the job's overrides minus the seed and placement keys, sorted."""
    keep = [bare_override(o) for o in overrides if not not_identity(override_key(o))]
    return " ".join(sorted(keep)) or "(defaults)"


def _record_row(job_dir: Path, rec: dict, sweep: Path) -> dict:
    overrides = rec.get("overrides", [])
    cfg = rec.get("config", {})
    row = {
        "sweep": str(sweep), "run_dir": str(job_dir), "status": rec.get("status", "unreadable"),
        "error": rec.get("error"), "seed": rec.get("seed", cfg.get("seed")), "config": config_key(overrides),
        "identity": identity_hash(identity(cfg, drop=("seed",))) if cfg else None,
        "rung": (rec.get("choices") or {}).get("rung"),
        "overrides": " ".join(overrides), "job_num": rec.get("job_num"),
        "label_smoothing": (cfg.get("loss") or {}).get("label_smoothing"),
    }
    row.update({f"choice.{k}": v for k, v in (rec.get("choices") or {}).items()})
    metrics = rec.get("metrics") or {}
    row.update({k: metrics.get(k, np.nan) for k in METRICS})
    timing = rec.get("timing") or {}
    row["train_seconds"] = timing.get("train_seconds", np.nan)
    row["images_per_second"] = timing.get("images_per_second", np.nan)
    env = rec.get("env") or {}
    for k in ("device_name", "torch", "git_sha", "date", "command", "host", "precision"):
        row[k] = env.get(k)
    cpu = env.get("cpu") or {}
    row["cpu"] = ", ".join([cpu.get("capability") or "?"] + [k.upper() for k in ("amx", "avx512_bf16") if cpu.get(k)]) \
        if cpu else None
    row["cpu_model"] = cpu.get("model")            # which machine: speed differs between CPUs of one kind
    row["device_type"] = str(env["device"]).split(":")[0] if env.get("device") else None   # cpu, cuda, mps
    row["_record"] = rec
    return row


def _launch_number(path: Path) -> int | None:
    tag = path.name[len("multirun."):-len(".yaml")]
    return int(tag) if tag.isdigit() else None


def launch_files(sweep: Path) -> list[Path]:
    """The sweep's multirun.yaml, then the earlier launches' kept as multirun.N.yaml (see keep_earlier_launch)."""
    kept = sorted((p for p in sweep.glob("multirun.*.yaml") if _launch_number(p) is not None), key=_launch_number)
    return [p for p in [sweep / "multirun.yaml", *kept] if p.is_file()]


def _asked_by(launch: Path, sweep: Path) -> list[tuple[Path, list[str]]]:
    from omegaconf import OmegaConf

    return expected_jobs(OmegaConf.load(launch), sweep)


def expected_job_dirs(sweep: Path) -> list[tuple[Path, list[str]]]:
    """The job folders a sweep's launches ask for (basic sweeper grammar: a,b,c and range(...)), named the way
    Hydra names them (override_dirname with its exclude_keys): multirun.yaml's and the kept earlier ones'."""
    jobs: dict[Path, list[str]] = {}
    for launch in launch_files(sweep):
        for job, overrides in _asked_by(launch, sweep):
            jobs.setdefault(job, overrides)
    return list(jobs.items())


def keep_earlier_launch(sweep: Path, new_jobs: list[tuple[Path, list[str]]]) -> Path | None:
    """Hydra overwrites multirun.yaml when a sweep folder is launched again (e.g. with other seeds). Keep the
    earlier launch's as multirun.N.yaml when it asked for jobs the new launch does not, so that the report
    still expects them; returns the file kept, if any."""
    current = sweep / "multirun.yaml"
    if not current.is_file():
        return None
    earlier = launch_files(sweep)[1:]
    known = {job for job, _ in new_jobs} | {job for launch in earlier for job, _ in _asked_by(launch, sweep)}
    if {job for job, _ in _asked_by(current, sweep)} <= known:
        return None
    kept = sweep / f"multirun.{1 + max(map(_launch_number, earlier), default=0)}.yaml"
    kept.write_bytes(current.read_bytes())
    return kept


def _group_options(cfg, group: str) -> list[str]:
    """The options of a config group, from the sweep's own config folders (hydra.runtime.config_sources), else
    this checkout's conf/."""
    from omegaconf import OmegaConf

    folders = [src.path[len("file://"):] for src in OmegaConf.select(cfg, "hydra.runtime.config_sources") or []
               if str(src.get("path", "")).startswith("file://")]
    folders = folders or [str(Path(__file__).resolve().parents[2] / "conf")]
    return sorted({p.stem for f in folders for p in (Path(f) / group).glob("*.yaml")})


def _sweep_values(o, cfg) -> list[str]:
    """A sweep override's values: a,b,c and range(...) by Hydra's own iterator; glob(...) over the group's
    options (Hydra expands it with its config loader, which a finished sweep no longer has)."""
    from hydra.core.override_parser.types import Glob

    if isinstance(o.value(), Glob):
        return o.value().filter(_group_options(cfg, o.key_or_group))
    return list(o.sweep_string_iterator())


def expected_jobs(cfg, sweep: Path) -> list[tuple[Path, list[str]]]:
    """The job folders and overrides a multirun config (multirun.yaml, or Hydra's own at the sweep's start)
    asks for."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    task = list(OmegaConf.select(cfg, "hydra.overrides.task") or [])
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    on_command_line = {override_key(o) for o in task}   # these replace the config's sweep params
    task += [f"{k}={v}" for k, v in params.items() if k not in on_command_line]
    exclude = set(OmegaConf.select(cfg, "hydra.job.config.override_dirname.exclude_keys") or [])
    last = {}        # a key given twice: Hydra uses the last value, so only that one makes jobs
    for o in OverridesParser.create().parse_overrides(task):
        last.pop(o.key_or_group, None)
        last[o.key_or_group] = o
    axes = []
    for o in last.values():
        key = o.get_key_element()
        if o.is_sweep_override():
            axes.append([f"{key}={v}" for v in _sweep_values(o, cfg)])
        else:
            axes.append([f"{key}={o.get_value_element_as_str()}"])
    jobs = []
    for combo in product(*axes):
        kept = sorted(o for o in combo if override_key(o) not in exclude)
        jobs.append((sweep / job_dirname(",".join(kept)), list(combo)))
    return jobs


def sweep_folders(sweep_dirs) -> list[Path]:
    """The sweep folders as paths, each checked to be a folder: FileNotFoundError naming the first that is not."""
    folders = list(map(Path, [sweep_dirs] if isinstance(sweep_dirs, (str, Path)) else sweep_dirs))
    for sweep in folders:
        if not sweep.is_dir():
            raise FileNotFoundError(f"{sweep} is not a folder: pass the sweep folder that holds the job folders")
    return folders


def load_runs(sweep_dirs, include_missing: bool = True) -> pd.DataFrame:
    """One row per run found under the sweep folders, plus rows for jobs that were expected but have no record."""
    rows = []
    for sweep in sweep_folders(sweep_dirs):
        seen = set()
        for path in sorted(sweep.rglob(records.RESULTS)):
            if "report" in path.relative_to(sweep).parts:
                continue
            rec = records.read_record(path.parent)
            seen.add(path.parent.resolve())
            problem = "it is empty, truncated or not JSON" if rec is None else records.read_problem(rec)
            rows.append(_unreadable_row(sweep, path, problem, rec) if problem else _record_row(path.parent, rec, sweep))
        if not include_missing:
            continue
        # started jobs (Hydra wrote .hydra/) without a record yet: running, or killed
        single_run = (sweep / ".hydra").is_dir() and not (sweep / "multirun.yaml").is_file()
        for hydra_dir in sorted(sweep.rglob(".hydra")):
            job = hydra_dir.parent
            if job.resolve() not in seen and (job.resolve() != sweep.resolve() or single_run):
                ov = _read_overrides(hydra_dir)
                seen.add(job.resolve())
                rows.append(_missing_row(sweep, job, ov, "missing (started, no record)"))
        try:
            jobs = expected_job_dirs(sweep)
        except Exception as e:  # noqa: BLE001 - an unusual sweeper grammar or a damaged file: report what is there
            log.warning("the jobs %s asked for cannot be read from its multirun.yaml (%s): jobs that never "
                        "started are not listed as missing", sweep, str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__)
            jobs = []
        for job, ov in jobs:
            if job.resolve() not in seen:
                rows.append(_missing_row(sweep, job, ov, "missing (not started)"))
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["sweep", "run_dir", "status", "config", "seed", "identity", "rung", *METRICS])
    for col in (*METRICS, "train_seconds", "images_per_second", "job_num", "label_smoothing"):
        if col not in df:        # a sweep whose jobs are all still missing has no record to take them from
            df[col] = np.nan
    return assign_configs(df)


def assign_configs(df: pd.DataFrame) -> pd.DataFrame:
    """One configuration per identity (the composed config minus seed and placement keys), however its
    overrides were spelled: `rung=2_cosine` and `aug=cropflip schedule=cosine` are one configuration. Its
    name lists what varies between the report's configurations: group choices, then dotted overrides."""
    df = df.copy()
    spelled = {}   # a job without a record takes the identity of a recorded job spelled the same way
    for r in df[df.identity.notna()].itertuples():
        spelled.setdefault((r.sweep, r.config), r.identity)
    df["identity"] = [i if isinstance(i, str) else spelled.get((sw, c), f"overrides: {c}")
                      for i, sw, c in zip(df.identity, df.sweep, df.config)]
    recorded_first = df.assign(_no_record=df._record.isna()).sort_values("_no_record", kind="stable")
    firsts = recorded_first.drop_duplicates("identity").drop(columns="_no_record").set_index("identity")
    ids = list(firsts.index)
    if len(ids) == 1:
        df["config"] = firsts.config.iloc[0]
    else:
        names = _names(ids, firsts)
        df["config"] = df.identity.map(names)
    rungs = df.dropna(subset=["rung"]).groupby("identity").rung.first()
    df["rung"] = df.identity.map(rungs)
    return df


def _names(ids: list[str], firsts: pd.DataFrame) -> dict[str, str]:
    recs = {i: firsts.loc[i, "_record"] or {} for i in ids}
    flat = {i: flatten(recs[i].get("config") or {}) for i in ids}
    choices = {i: {k: v for k, v in (recs[i].get("choices") or {}).items()
                   if not k.startswith("hydra") and k not in BUNDLES} for i in ids}
    tokens = {i: set() for i in ids}
    recorded = [i for i in ids if recs[i]]     # a job with no record yet knows only its overrides: not a difference
    for group in sorted(set().union(*choices.values())):
        if len({choices[i].get(group) for i in recorded}) > 1:
            for i in ids:
                if group in choices[i]:
                    tokens[i].add(f"{group}={choices[i][group]}")
    given = {i: _given(firsts.loc[i, "overrides"]) for i in ids}
    for i in ids:
        for key, o in given[i].items():
            # a dotted key may reach into a list (aug.ops.1.op=flip): compare the value it sets, not the list; a
            # job with no record yet counts with the value its override sets, or not at all (it knows no other)
            values = {str(value_at(recs[j]["config"], key)) if recs[j].get("config") else
                      _as_composed(given[j][key]) if key in given[j] else None for j in ids} - {None}
            if "." in key and not not_identity(key) and len(values) > 1:
                tokens[i].add(o)
    rung = {i: firsts.loc[i, "rung"] if isinstance(firsts.loc[i, "rung"], str) else None for i in ids}
    if all(rung.values()) and len(set(rung.values())) == len(ids):      # a ladder: its rungs name it
        return {i: f"rung={rung[i]}" for i in ids}
    names = {i: " ".join([f"rung={rung[i]}"] * bool(rung[i]) + sorted(tokens[i])) for i in ids}
    first = dict(names)     # clashes are among the names as first made, not as renamed one by one below
    for i in ids:   # still ambiguous (a value set inside an experiment file): name the composed keys that differ
        clash = [j for j in ids if first[j] == first[i]]
        if len(clash) > 1 or not names[i]:
            known = [j for j in clash if flat[j]]       # a job with no record knows no composed key
            differ = sorted(k for k in set().union(*(flat[j] for j in known)) if not not_identity(k)
                            and len({str(flat[j].get(k)) for j in known}) > 1)
            extra = [f"{k}={flat[i].get(k)}" for k in differ] if flat[i] else [firsts.loc[i, "config"]]
            names[i] = " ".join(filter(None, [names[i], *extra])) or firsts.loc[i, "config"]
    return names


def _given(overrides) -> dict[str, str]:
    """A job's overrides as {key: override}, without Hydra's +/~ prefixes."""
    tokens = overrides.split(" ") if isinstance(overrides, str) else []
    return {override_key(o): bare_override(o) for o in tokens if o}


@functools.lru_cache(maxsize=None)
def _as_composed(override: str) -> str:
    """The value an override sets, as value_at reads it from a composed config (model.whiten=False -> 'False',
    optim.lr=0.05 -> '0.05'): YAML's reading of the text, as Hydra's."""
    import yaml
    text = override.split("=", 1)[1] if "=" in override else ""
    try:
        return str(yaml.safe_load(text))
    except yaml.YAMLError:
        return text


def _read_overrides(hydra_dir: Path) -> list[str]:
    try:
        from omegaconf import OmegaConf
        return list(OmegaConf.load(hydra_dir / "overrides.yaml"))
    except Exception:  # noqa: BLE001
        return []


def _unreadable_row(sweep: Path, path: Path, problem: str, rec) -> dict:
    """A results.json the readers cannot use (empty, truncated, not a JSON object, a field of the wrong shape):
    listed as unreadable under the job's own overrides (from the record, else .hydra/, else the folder's name,
    which Hydra makes of them), said once on the terminal naming the file and the field, and kept out of every
    table but the list of runs."""
    overrides = rec.get("overrides") if isinstance(rec, dict) else None
    if not (isinstance(overrides, list) and all(isinstance(o, str) for o in overrides)):
        overrides = _read_overrides(path.parent / ".hydra") or _dirname_overrides(path.parent.name)
    what = f"{path} cannot be read as a run record: {problem}"
    log.warning("%s. It is left out of the tables; run the same command again to redo that job", what)
    row = _missing_row(sweep, path.parent, overrides, what)
    row["status"] = "unreadable"
    return row


def _dirname_overrides(name: str) -> list[str]:
    """A job folder's name as Hydra makes it (override_dirname: key=value joined by commas), split back; a name
    that is not of that form gives none."""
    parts = name.split(",")
    return parts if all("=" in p for p in parts) else []


def _missing_row(sweep: Path, job: Path, overrides: list[str], status: str) -> dict:
    seed = next((o.split("=", 1)[1] for o in overrides if o.split("=")[0] == "seed"), None)
    rung = next((o.split("=", 1)[1] for o in overrides if o.split("=")[0] == "rung"), None)
    return {"sweep": str(sweep), "run_dir": str(job), "status": "missing", "error": status,
            "seed": int(seed) if seed is not None and seed.isdigit() else seed, "identity": None, "rung": rung,
            "config": config_key(overrides), "overrides": " ".join(overrides), "_record": None}


def load_histories(runs: pd.DataFrame) -> pd.DataFrame:
    """Long table of every completed run's history.csv, with its config and seed; a bad file or row is said
    once, naming the file, and left out."""
    frames = []
    for row in runs[runs.status == records.COMPLETED].itertuples():
        data, problem = records.read_history(row.run_dir)
        if problem:
            log.warning(problem)
        if not data:
            continue
        h = pd.DataFrame(data).apply(pd.to_numeric, errors="coerce")
        h["config"], h["seed"], h["run_dir"] = row.config, row.seed, row.run_dir
        frames.append(h)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def short_labels(configs) -> dict[str, str]:
    """Drop the overrides every configuration shares, so labels show only what varies."""
    configs = list(dict.fromkeys(configs))
    token_sets = [set(c.split(" ")) for c in configs]
    common = set.intersection(*token_sets) if len(token_sets) > 1 else set()
    return {c: " ".join(t for t in c.split(" ") if t not in common) or c for c in configs}


def matching_configs(configs: list[str], query: str) -> list[str]:
    """The configurations a query names: exactly, or by overrides they contain ('aug=none')."""
    if query in configs:
        return [query]
    want = set(query.replace(",", " ").split())
    return [c for c in configs if want <= set(c.split(" "))]


def match_config(configs: list[str], query: str) -> str:
    """The one configuration named exactly, by its short label, or by overrides it contains ('aug=none')."""
    hits = matching_configs(configs, query)
    if len(hits) == 1:
        return hits[0]
    what = "matches none" if not hits else f"matches {len(hits)}: {hits}"
    raise ValueError(f"configuration {query!r} {what} of the configurations {configs}: "
                     f"name one by its overrides, e.g. {configs[0]!r}" if configs else "no configurations")
