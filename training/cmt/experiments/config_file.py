"""Experiment configs: a run of `train-recipe` as a small TOML file (training/experiments/*.toml)
instead of a long flag list.

    PYTHONPATH=training .venv/bin/python -m cmt --threads 2 train-recipe --config training/experiments/run10.toml

A key is a train-recipe flag without its dashes (`with-chunk = 1`, `gold-in-topk = true`;
`with_chunk` works too); the `[set]` table holds the CMT config overrides that `--set KEY=VALUE`
gives (`query_residual = false`). Relative paths (gguf, init-from, out, real) are relative to the
repository root, wherever the command runs. Flags on the command line override the file; `--set`
pairs on the command line come after the file's, so they win for the same key.
"""
import argparse
import os
import tomllib

from .. import paths

PATH_KEYS = ("gguf", "init_from", "out", "real")
NOT_IN_FILES = ("config", "help")  # a config cannot name another config


def load(path: str, parser: argparse.ArgumentParser) -> dict:
    """The file's settings as `parser` defaults (argparse dest -> typed value); ValueError names
    the first key or value that `parser` would not accept."""
    with open(path, "rb") as f:
        try:
            raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{path}: {e}") from e
    actions = {a.dest: a for a in parser._actions if a.dest not in NOT_IN_FILES}
    out: dict = {}
    for key, value in raw.items():
        dest = key.replace("-", "_")
        if dest == "set":
            if not isinstance(value, dict):
                raise ValueError(f"{path}: [set] must be a table of CMT config fields (query_residual = false)")
            out["set"] = [f"{k}={_str(v)}" for k, v in value.items()]
            continue
        action = actions.get(dest)
        if action is None:
            known = sorted(k.replace("_", "-") for k in actions)
            raise ValueError(f"{path}: unknown key {key!r}; train-recipe's are {', '.join(known)} and the [set] table")
        out[dest] = _typed(path, key, value, action)
    return out


def _typed(path: str, key: str, value, action: argparse.Action):
    if action.nargs == 0:  # store_true
        if not isinstance(value, bool):
            raise ValueError(f"{path}: {key} takes true or false, not {value!r}")
        return value
    if isinstance(value, (dict, list, bool)):
        raise ValueError(f"{path}: {key} takes one value, not {value!r}")
    if action.type is not None:
        try:
            value = action.type(value)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: {key} = {value!r}: {e}") from e
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"{path}: {key} = {value!r}: expected one of {', '.join(map(str, action.choices))}")
    if action.dest in PATH_KEYS and isinstance(value, str):
        value = os.path.join(paths.REPO, value)
    return value


def _str(v) -> str:
    """A [set] value as `--set` spells it (true/false for booleans)."""
    return str(v).lower() if isinstance(v, bool) else str(v)
