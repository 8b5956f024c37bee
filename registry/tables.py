"""Reading annotation tables safely: helpers every dataset plugin may use (plugins never import each other).

>>> import pandas as pd
>>> seconds(pd.Series(["00:01:02.50"], name="start"), pd.Series(["a"]), "x.csv").tolist()
[62.5]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

PICKLE_SUFFIXES = (".pkl", ".pickle")


def read_table(path: str | Path, trust_pickle: bool, what: str, missing_hint: str = "") -> pd.DataFrame:
    """A CSV, or a pickled DataFrame only when the user trusts it (unpickling can run code)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} file {path} does not exist; {missing_hint or 'fix the path in the config.'}")
    if path.suffix not in PICKLE_SUFFIXES:
        return pd.read_csv(path)
    if not trust_pickle:
        raise DataError(f"{path} is a pickle, which can run code when loaded; set trust_pickle=True in the config "
                        f"if you trust its source, or use a CSV.")
    table = pd.read_pickle(path)
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{path} holds a {type(table).__name__}, not a pandas DataFrame.")
    return table


def with_ids(table: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """The table with its ids as a column (the original TIM's pickles keep them in the index)."""
    return table if id_column in table.columns else table.rename_axis(id_column).reset_index()


def seconds(column: pd.Series, ids: pd.Series, path: str | Path) -> np.ndarray:
    """``HH:MM:SS.ff`` timestamps (or numbers of seconds) -> float seconds; a malformed one names its row."""
    if pd.api.types.is_numeric_dtype(column):
        values = column.astype(float)
    else:
        parts = column.astype(str).str.split(":", expand=True).reindex(columns=range(3))
        hms = parts.apply(pd.to_numeric, errors="coerce")
        values = hms[0] * 3600 + hms[1] * 60 + hms[2]
    bad = values.isna().to_numpy()
    if bad.any():
        raise DataError(f"{path}: row {ids[bad].iloc[0]} has {column.name} '{column[bad].iloc[0]}', not "
                        f"HH:MM:SS.ff; fix the timestamp.")
    return values.to_numpy(np.float64)


def class_ids(table: pd.DataFrame, column: str, ids: pd.Series, path: str | Path) -> np.ndarray:
    """An integer class column; a missing or non-integer value names its row."""
    values = pd.to_numeric(table[column], errors="coerce")
    bad = (values.isna() | (values != values.round())).to_numpy()
    if bad.any():
        raise DataError(f"{path}: row {ids[bad].iloc[0]} has {column} '{table[column][bad].iloc[0]}', not a class "
                        f"id; fix the annotation.")
    return values.to_numpy(np.int64)


def read_durations(path: str | Path, trust_pickle: bool) -> dict[str, float]:
    """video_id -> duration (s) from a video-info CSV, or the original TIM's pickle (index video_id)."""
    table = with_ids(read_table(path, trust_pickle, "video info"), "video_id")
    if "duration" not in table.columns:
        raise DataError(f"{path} has no 'duration' column; give a video info table (video_id, duration, ...).")
    return dict(zip(table["video_id"].astype(str), table["duration"].astype(float)))
