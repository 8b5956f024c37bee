"""Reading annotation tables safely, for dataset plugins: every helper names the file and the row (``row N (id)``, N
counting data rows from 1) of the first bad value, never a traceback or a silent default."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from .contracts import IGNORE_LABEL
from .errors import DataError

_PICKLE_SUFFIXES = (".pkl", ".pickle")


def _row_name(ids: pd.Series, position: int) -> str:
    """``row N (id)`` for the row at ``position`` (0-based) of a table whose ids are ``ids``."""
    return f"row {position + 1} ({ids.iloc[position]})"


def read_table(path: str | Path, trust_pickle: bool, what: str, missing_hint: str = "") -> pd.DataFrame:
    """A CSV, or a pickled DataFrame only when the user trusts it (unpickling can run code)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} file {path} does not exist; {missing_hint or 'fix the path in the config.'}")
    if path.suffix not in _PICKLE_SUFFIXES:
        try:
            return pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
            raise DataError(f"{what} file {path} is not a readable CSV ({str(exc).splitlines()[0]}); "
                            f"replace it with the original file.") from None
    if not trust_pickle:
        raise DataError(f"{path} is a pickle, which can run code when loaded; set trust_pickle=True in the config "
                        f"if you trust its source, or use a CSV.")
    try:
        table = pd.read_pickle(path)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError) as exc:
        raise DataError(f"{what} file {path} is not a readable pickle ({type(exc).__name__}: {exc}); "
                        f"replace it with the original file.") from None
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{path} holds a {type(table).__name__}, not a pandas DataFrame.")
    return table


def with_ids(table: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """The table with its ids as a column (the original TIM's pickles keep them in the index)."""
    table = table if id_column in table.columns else table.rename_axis(id_column).reset_index()
    return table.reset_index(drop=True)


#: ``HH:MM:SS`` or ``HH:MM:SS.ff`` (hours any count of digits, minutes and seconds two at most).
_TIMESTAMP = r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)$"


def _timestamp_problem(text: str) -> str:
    """Why one timestamp is not ``HH:MM:SS.ff`` (a wrong field count, minutes or seconds past 59, ...)."""
    fields = text.split(":")
    if len(fields) != 3:
        return f"{len(fields)} field{'s' if len(fields) > 1 else ''}, not HH:MM:SS.ff"
    try:
        values = [float(f) for f in fields]
    except ValueError:
        return "not HH:MM:SS.ff (numbers only)"
    if values[1] > 59:
        return f"minutes {fields[1]} past 59"
    if values[2] >= 60:
        return f"seconds {fields[2]} past 59"
    return "not HH:MM:SS.ff (or seconds >= 0)"


def seconds(column: pd.Series, ids: pd.Series, path: str | Path) -> np.ndarray:
    """``HH:MM:SS.ff`` timestamps (or numbers of seconds) -> float seconds; a malformed one (a field too many or
    too few, minutes or seconds past 59, a negative number) names its row, column and value."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.astype(float).to_numpy()
    else:
        hms = column.astype(str).str.strip().str.extract(_TIMESTAMP).apply(pd.to_numeric, errors="coerce")
        hms[(hms[1] > 59) | (hms[2] >= 60)] = np.nan
        values = (hms[0] * 3600 + hms[1] * 60 + hms[2]).to_numpy(float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raw = column.iloc[i]
        why = _timestamp_problem(str(raw).strip()) if isinstance(raw, str) else "not HH:MM:SS.ff (or seconds >= 0)"
        raise DataError(f"{path}: {_row_name(ids, i)} has {column.name} '{raw}': {why}; fix the timestamp.")
    return values.astype(np.float64)


def class_ids(table: pd.DataFrame, column: str, ids: pd.Series, path: str | Path, num_classes: int | None = None,
              allow_ignore: bool = False) -> np.ndarray:
    """An integer class column in ``0..num_classes-1`` (and ``-1`` = no label where ``allow_ignore``); a missing,
    fractional or out-of-range value names its row, e.g. ``row 17 (P01_11_3): verb_class 97 outside 0..96``."""
    if column not in table.columns:
        raise DataError(f"{path} has no '{column}' column; give the labelled annotation file.")
    raw = table[column]
    values = pd.Series(np.nan, index=raw.index) if pd.api.types.is_bool_dtype(raw) else \
        pd.to_numeric(raw, errors="coerce")
    bad = (values.isna() | (values != values.round())).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: {_row_name(ids, i)} has {column} '{raw.iloc[i]}', not a class id; fix the "
                        f"annotation.")
    labels = values.to_numpy(np.int64)
    low = IGNORE_LABEL if allow_ignore else 0
    out = (labels < low) | ((labels >= num_classes) if num_classes is not None else False)
    out &= ~(allow_ignore & (labels == IGNORE_LABEL))
    if out.any():
        i = int(np.flatnonzero(out)[0])
        limit = f"0..{num_classes - 1}" if num_classes is not None else "0 or above"
        extra = f" ({IGNORE_LABEL} = no label)" if allow_ignore else ""
        raise DataError(f"{path}: {_row_name(ids, i)}: {column} {labels[i]} outside {limit}{extra}; fix the "
                        f"annotation or the class list.")
    return labels


def text_ids(table: pd.DataFrame, column: str, ids: pd.Series, path: str | Path, unique: bool = False) -> pd.Series:
    """A column of ids as strings; a missing or empty one (and, with ``unique``, a repeated one) names its row."""
    if column not in table.columns:
        raise DataError(f"{path} has no '{column}' column.")
    raw = table[column]
    text = raw.astype(str).str.strip()
    bad = (raw.isna() | (text == "")).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = f"row {i + 1}" if column == ids.name else _row_name(ids, i)
        raise DataError(f"{path}: {where} has no {column}; every row needs one.")
    if unique:
        dup = text.duplicated(keep=False).to_numpy()
        if dup.any():
            rows = np.flatnonzero(text.to_numpy() == text.iloc[int(np.flatnonzero(dup)[0])])
            raise DataError(f"{path}: {column} {text.iloc[rows[0]]} appears in rows "
                            f"{', '.join(str(r + 1) for r in rows[:5])}; ids in this column must be unique.")
    return raw.astype(str)


def segments_of(table: pd.DataFrame, path: str | Path, id_column: str, stream: str) -> pd.DataFrame:
    """``segment_id, video_id, start, stop, stream`` of an annotation table with ``start_timestamp`` and
    ``stop_timestamp`` columns; a missing or repeated id, a missing video, a bad time or start >= stop names
    the file and row."""
    missing = {id_column, "video_id", "start_timestamp", "stop_timestamp"} - set(table.columns)
    if missing:
        raise DataError(f"{path} lacks columns {sorted(missing)}; it needs {id_column}, video_id, start_timestamp "
                        f"and stop_timestamp.")
    ids = text_ids(table, id_column, table[id_column].astype(str), path, unique=True)
    video = text_ids(table, "video_id", ids, path)
    start = seconds(table["start_timestamp"], ids, path)
    stop = seconds(table["stop_timestamp"], ids, path)
    reversed_ = stop <= start
    if reversed_.any():
        i = int(np.flatnonzero(reversed_)[0])
        raise DataError(f"{path}: {_row_name(ids, i)} starts at {start[i]:g} s and stops at {stop[i]:g} s; a "
                        f"segment needs start < stop: fix its timestamps.")
    return pd.DataFrame({"segment_id": ids.to_numpy(), "video_id": video.to_numpy(), "start": start, "stop": stop,
                         "stream": stream})


def read_durations(path: str | Path, trust_pickle: bool) -> dict[str, float]:
    """video_id -> duration (s) from a video-info CSV, or the original TIM's pickle (index video_id)."""
    table = with_ids(read_table(path, trust_pickle, "video info"), "video_id")
    if "duration" not in table.columns:
        raise DataError(f"{path} has no 'duration' column; give a video info table (video_id, duration, ...).")
    ids = text_ids(table, "video_id", table["video_id"].astype(str), path, unique=True)
    duration = pd.to_numeric(table["duration"], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(duration) & (duration > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: {_row_name(ids, i)} has duration '{table['duration'].iloc[i]}'; a video's "
                        f"duration must be a number of seconds above 0.")
    return dict(zip(ids, duration.tolist()))
