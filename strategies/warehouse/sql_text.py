"""Writing identifiers and values into liftlab's SQL text safely.

Column names and values in a config are untrusted (DESIGN.md §7): a column called
``x"; DROP TABLE t; --`` or a variant label ``it's`` must reach the engine as a name and a
value, never as SQL. Every identifier is double-quoted with embedded quotes doubled, every
value is written as a literal by :func:`literal` (strings single-quoted with quotes doubled,
floats as an explicit ``CAST(<text> AS DOUBLE)`` so that DuckDB does not read ``0.1`` as a
DECIMAL and the exact binary value survives the round trip). The output is DuckDB dialect,
which SQLGlot transpiles for PostgreSQL and Spark.

These helpers are private to ``strategies.warehouse`` for now; ``strategies.engines.dialects``
has similar ones and the two will be merged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from strategies.errors import ConfigError

__all__ = ["check_relation_name", "literal", "quote_ident", "select_list"]

_RELATION_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (``"a""b"`` for ``a"b``)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"an SQL identifier must be a non-empty string, got {name!r}")
    if "\x00" in name:
        raise ValueError(f"an SQL identifier cannot contain a NUL character: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """``value`` as an SQL literal: NULL, TRUE/FALSE, an integer, a DOUBLE or a string.

    Floats are written with ``repr`` (shortest text that round-trips to the same double) inside
    a CAST, so a cap computed by the engine and written back into a query compares exactly;
    non-finite floats become ``'NaN'``/``'Infinity'``/``'-Infinity'`` casts, which DuckDB,
    PostgreSQL and Spark all accept.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            text = "NaN"
        elif math.isinf(value):
            text = "Infinity" if value > 0 else "-Infinity"
        else:
            text = repr(value)
        return f"CAST('{text}' AS DOUBLE)"
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"an SQL string literal cannot contain a NUL character: {value!r}")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot write a {type(value).__name__} value as an SQL literal: {value!r}")


def select_list(columns: Iterable[str]) -> str:
    """Quoted, comma-separated column names (an explicit list, as ``* REPLACE`` is DuckDB-only)."""
    return ", ".join(quote_ident(c) for c in columns)


def check_relation_name(name: str, what: str) -> str:
    """Return ``name`` if it is a plain lower-case identifier, else raise ConfigError.

    Relations liftlab creates (temp tables, CTEs) get such names so that quoted and unquoted
    spellings agree on every engine (PostgreSQL folds unquoted names to lower case).
    """
    if not isinstance(name, str) or not _RELATION_NAME.fullmatch(name):
        raise ConfigError(
            f"{what} must be a lower-case SQL name (letters, digits, underscore), got {name!r}"
        )
    return name
