"""liftlab's SQL, written once in DuckDB's dialect, translated for PostgreSQL and Spark.

SQLGlot does the translation (:func:`to_dialect`). Where it produces SQL that is valid but means
something else on the target engine, or SQL the engine rejects, the fix lives in :data:`OVERRIDES`
in this module — one small rewrite of SQLGlot's syntax tree per construct and dialect, next to
its siblings — so a reader looking for "why does Spark get different SQL" has one place to look.

Constructs checked on all three engines (tests/strategies/engines): ``quantile_cont(x, q)``,
``COUNT(*) FILTER (WHERE …)``, ``GROUPING SETS``, ``GROUPING(col)``, window functions,
``md5(CAST(x AS VARCHAR))``, casts to ``DOUBLE``/``BIGINT``, ``TRIM``/``LOWER``/``COALESCE``,
``date_trunc('day'|'week', ts)``, ``COUNT(DISTINCT …)``, quoted identifiers with spaces and
capitals, ``SELECT DISTINCT *``, string literals holding quotes, and :func:`hash_bucket`.

Identifiers are emitted quoted on PostgreSQL and Spark. PostgreSQL folds unquoted names to lower
case, so ``AS nControl`` would come back as ``ncontrol`` and a column created as ``"Revenue"``
could not be found through an unquoted ``Revenue``; quoting keeps every name exactly as written
in the query, which is what DuckDB (and therefore liftlab) expects. It also keeps column names
that are keywords on one engine only (``date``, ``user``) working everywhere.

Known differences that no override hides: ``CAST(x AS VARCHAR)`` of a *floating-point* value
prints differently per engine (DuckDB ``1.0``, PostgreSQL ``1``), so hash or compare the text of
integers and strings only; string ordering follows the PostgreSQL database's collation (``C``
gives the byte order DuckDB and Spark use), and PostgreSQL's ``LOWER``/``UPPER`` change
non-ASCII letters only when the database's ``LC_CTYPE`` is a UTF-8 locale (``C.UTF-8``); with
``LC_CTYPE=C`` ``LOWER('É')`` stays ``'É'``.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import hashlib
import math
import os
from collections.abc import Callable, Sequence

import numpy as np
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from strategies.errors import ConfigError

__all__ = [
    "CANONICAL_DIALECT",
    "DIALECTS",
    "OVERRIDES",
    "check_read_only",
    "hash_bucket",
    "int_hash_bucket",
    "int_hash_params",
    "literal",
    "quote_ident",
    "to_dialect",
]

#: The dialect liftlab writes its SQL in.
CANONICAL_DIALECT = "duckdb"
#: Dialects :func:`to_dialect` can produce.
DIALECTS: tuple[str, ...] = ("duckdb", "postgres", "spark")

#: Hex digits of the md5 used by :func:`hash_bucket`: 7 digits = 28 bits, a non-negative value
#: that fits every engine's 32-bit INT, so no engine can overflow or see a sign bit.
_HASH_HEX_DIGITS = 7

Override = Callable[[exp.Expression], exp.Expression]


# --- the overrides, one function per construct and dialect ----------------------------------


def _hex_operand(node: exp.Expression) -> exp.Expression | None:
    """``X`` when ``node`` is ``CAST(('0x' || X) AS BIGINT)`` — DuckDB's hex-text-to-integer
    idiom (used by :func:`hash_bucket`) — else None. PostgreSQL and Spark cannot cast ``0x…``
    text to an integer (PostgreSQL raises, Spark returns NULL), so both rewrite it."""
    if not isinstance(node, exp.Cast) or not node.to.is_type(exp.DataType.Type.BIGINT):
        return None
    inner = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
    if not isinstance(inner, exp.DPipe | exp.Concat):
        return None
    parts = [inner.this, inner.expression] if isinstance(inner, exp.DPipe) else inner.expressions
    if len(parts) != 2:
        return None
    head, operand = parts
    if isinstance(head, exp.Literal) and head.is_string and head.this.lower() == "0x":
        return operand
    return None


def _postgres_hex_to_bigint(node: exp.Expression) -> exp.Expression:
    """PostgreSQL: ``('x' || lpad(X, 16, '0'))::bit(64)::bigint`` reads up to 16 hex digits
    (bit-string literals are PostgreSQL's only built-in hex parser); 15 digits or fewer stay
    non-negative, like DuckDB's result."""
    operand = _hex_operand(node)
    if operand is None:
        return node
    padded = exp.func("lpad", operand.copy(), exp.Literal.number(16), exp.Literal.string("0"))
    bits = exp.cast(
        exp.Paren(this=exp.DPipe(this=exp.Literal.string("x"), expression=padded)),
        exp.DataType.build("BIT(64)", dialect="postgres"),
    )
    return exp.cast(bits, exp.DataType.build("BIGINT"))


def _spark_hex_to_bigint(node: exp.Expression) -> exp.Expression:
    """Spark: ``CAST(conv(X, 16, 10) AS BIGINT)`` (``conv`` changes the base of a number held
    as text)."""
    operand = _hex_operand(node)
    if operand is None:
        return node
    converted = exp.Anonymous(
        this="conv",
        expressions=[operand.copy(), exp.Literal.number(16), exp.Literal.number(10)],
    )
    return exp.cast(converted, exp.DataType.build("BIGINT"))


def _spark_quantile_cont(node: exp.Expression) -> exp.Expression:
    """Spark: ``quantile_cont(x, q)`` → ``percentile(x, q)``, the exact linearly interpolated
    quantile (SQLGlot writes ``PERCENTILE_CONT(x, q)``, which Spark does not accept with two
    arguments; ``percentile_approx`` would be approximate)."""
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), node.expression])
    return node


# PostgreSQL's quantile_cont needs no override: SQLGlot writes the exact
# ``percentile_cont(q) WITHIN GROUP (ORDER BY x)``.

#: Per dialect, the rewrites applied (in order) to SQLGlot's tree before writing the SQL.
OVERRIDES: dict[str, tuple[Override, ...]] = {
    "duckdb": (),
    "postgres": (_postgres_hex_to_bigint,),
    "spark": (_spark_hex_to_bigint, _spark_quantile_cont),
}


# --- public helpers --------------------------------------------------------------------------


def to_dialect(sql: str, dialect: str) -> str:
    """Translate one statement of liftlab SQL (DuckDB dialect) into ``dialect``.

    ``duckdb`` returns ``sql`` unchanged (no parse/print round trip, so nothing DuckDB accepts
    can be lost). Other dialects: parsed by SQLGlot as DuckDB, :data:`OVERRIDES` applied, written
    on one line with identifiers quoted; SQLGlot's "unsupported" warnings become errors, so a
    construct it cannot express fails here instead of running as something else.

    Raises:
        ConfigError: unknown dialect, not exactly one statement, or SQL SQLGlot cannot parse or
            translate (its message is kept).
    """
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown SQL dialect {dialect!r}; expected one of {list(DIALECTS)}")
    if not isinstance(sql, str) or not sql.strip():
        raise ConfigError("empty SQL query")
    if dialect == CANONICAL_DIALECT:
        return sql
    try:
        statements = [s for s in sqlglot.parse(sql, read=CANONICAL_DIALECT) if s is not None]
    except ParseError as exc:
        raise ConfigError(f"could not parse SQL as DuckDB SQL: {exc}") from exc
    if len(statements) != 1:
        raise ConfigError(f"expected exactly one SQL statement, found {len(statements)}: {sql}")
    tree = statements[0]
    for rewrite in OVERRIDES[dialect]:
        tree = tree.transform(rewrite)
    try:
        return tree.sql(
            dialect=dialect, pretty=False, identify=True, unsupported_level=ErrorLevel.RAISE
        )
    except SqlglotError as exc:
        raise ConfigError(f"cannot translate SQL to {dialect}: {exc}: {sql}") from exc


def quote_ident(name: str) -> str:
    """``name`` as a quoted DuckDB identifier (``"Revenue (EUR)"``), inner quotes doubled.

    Quoted, a name is never read as SQL, whatever it holds; :func:`to_dialect` re-quotes it for
    the target engine (backticks on Spark).
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"identifier must be a non-empty string, got {name!r}")
    if "\x00" in name:
        raise ConfigError(f"identifier {name!r} holds a NUL character")
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A Python value as a DuckDB SQL literal that means the same value on every engine.

    ``str`` → ``'…'`` with quotes doubled; ``bool`` → ``TRUE``/``FALSE``; ``int`` → digits;
    ``float`` → ``CAST('<repr>' AS DOUBLE)`` — a bare ``0.1`` is a DECIMAL on all three engines
    and DuckDB's decimal-to-double conversion is not always correctly rounded, whereas every
    engine parses the shortest round-trip text back to the very same double (``NaN`` and
    ``±Infinity`` included); ``None`` (and NaN-like missing values) → ``NULL``;
    ``datetime``/``date`` → ``CAST('iso' AS TIMESTAMP/DATE)``; numpy scalars as their Python
    value. Anything else is a ConfigError naming its type.
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
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ConfigError(f"cannot write the non-finite decimal {value} as a SQL literal")
        return str(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ConfigError(f"string value {value!r} holds a NUL character")
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return f"CAST('{value.isoformat(sep=' ')}' AS TIMESTAMP)"
    if isinstance(value, _dt.date):
        return f"CAST('{value.isoformat()}' AS DATE)"
    raise ConfigError(f"cannot write a {type(value).__name__} value ({value!r}) as a SQL literal")


def hash_bucket(expr_text: str, seed: str | int, n: int) -> str:
    """SQL (DuckDB dialect) for a deterministic bucket in ``[0, n)`` of ``expr_text``'s value.

    The bucket is ``int(md5(seed || ':' || CAST(expr AS VARCHAR))[:7], 16) % n`` — the same
    integer on DuckDB, PostgreSQL and Spark (and in Python with :mod:`hashlib`), so a hash split
    made in one warehouse is reproducible in another. DuckDB reads the hex digits with
    ``CAST('0x…' AS BIGINT)``; :data:`OVERRIDES` rewrites that for the other engines. A NULL
    value gets a NULL bucket. Hash integers or strings: the text of a floating-point value
    differs between engines (see the module docstring).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"hash_bucket needs a positive integer number of buckets, got {n!r}")
    if n > 1 << (4 * _HASH_HEX_DIGITS):
        raise ConfigError(f"hash_bucket supports at most {1 << (4 * _HASH_HEX_DIGITS)} buckets")
    if isinstance(seed, bool) or not isinstance(seed, str | int):
        raise ConfigError(f"hash_bucket seed must be a string or integer, got {seed!r}")
    if not isinstance(expr_text, str) or not expr_text.strip():
        raise ConfigError("hash_bucket needs the SQL text of the value to hash")
    salted = f"{literal(str(seed) + ':')} || CAST(({expr_text}) AS VARCHAR)"
    return f"(CAST(('0x' || substr(md5({salted}), 1, {_HASH_HEX_DIGITS})) AS BIGINT) % {n})"


#: The Mersenne prime 2**31 - 1 of :func:`int_hash_bucket`: every intermediate value stays
#: below 2**63, so BIGINT arithmetic never overflows on any engine.
_PRIME = 2_147_483_647


def int_hash_params(seed: str | int) -> tuple[int, int]:
    """The (multiplier, offset) pair of :func:`int_hash_bucket` for ``seed``: drawn from the
    md5 of the seed, multiplier in ``[1, p)``, offset in ``[0, p)``."""
    if isinstance(seed, bool) or not isinstance(seed, str | int):
        raise ConfigError(f"hash_bucket seed must be a string or integer, got {seed!r}")
    digest = hashlib.md5(f"liftlab-int-hash:{seed}".encode()).digest()
    a = int.from_bytes(digest[:8], "big") % (_PRIME - 1) + 1
    b = int.from_bytes(digest[8:], "big") % _PRIME
    return a, b


def int_hash_bucket(expr_text: str, seed: str | int, n: int) -> str:
    """SQL (DuckDB dialect) for a deterministic bucket in ``[0, n)`` of an INTEGER value:
    ``((a·(x mod p) + b) mod p) mod n`` with ``p = 2**31 − 1`` and ``(a, b)`` from the seed
    (:func:`int_hash_params`) — the Carter–Wegman universal family, so two distinct ids share
    a bucket with probability about ``1/n`` whatever the ids. Plain BIGINT arithmetic, the same
    integer on every engine (and in Python), several times cheaper per row than
    :func:`hash_bucket`'s md5 of the id's text; use it for integer ids only (ids equal modulo
    ``p`` share a bucket). A NULL value gets a NULL bucket."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"hash_bucket needs a positive integer number of buckets, got {n!r}")
    if not isinstance(expr_text, str) or not expr_text.strip():
        raise ConfigError("hash_bucket needs the SQL text of the value to hash")
    a, b = int_hash_params(seed)
    x = f"((CAST(({expr_text}) AS BIGINT) % {_PRIME}) + {_PRIME}) % {_PRIME}"
    return f"((({a} * {x}) + {b}) % {_PRIME} % {n})"


#: Syntax-tree nodes a read-only source query may not contain (writes, DDL, and whatever SQLGlot
#: could only keep as an opaque command — ``COPY``, ``SET``, ``CALL``, ``VACUUM`` …).
_WRITE_NODES: tuple[type[exp.Expression], ...] = tuple(
    node
    for node in (
        getattr(exp, name, None)
        for name in (
            "Insert",
            "Update",
            "Delete",
            "Merge",
            "Create",
            "Drop",
            "Alter",
            "AlterTable",
            "Command",
            "Copy",
            "Set",
            "Use",
            "Grant",
            "Revoke",
            "TruncateTable",
            "Into",
            "LoadData",
            "Pragma",
            "Transaction",
            "Commit",
            "Rollback",
            "Analyze",
        )
    )
    if isinstance(node, type)
)


def check_read_only(sql: str, dialect: str) -> None:
    """Refuse anything but ONE read-only SELECT/WITH query in ``dialect`` (the user's source
    SQL for PostgreSQL or Spark), naming what was found.

    SQLGlot parses it in the engine's own dialect; the statement must be a query (``SELECT``,
    ``WITH … SELECT``, a set operation) and may contain no write, DDL or opaque command node
    anywhere (``WITH x AS (DELETE … RETURNING …)`` and ``SELECT … INTO`` included). This is a
    guard against mistakes, not a security boundary: a SELECT can still call functions with side
    effects, so give liftlab a database role that may only read (DESIGN.md §7).
    """
    if not isinstance(sql, str) or not sql.strip():
        raise ConfigError("source SQL is empty")
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        raise ConfigError(f"could not parse source SQL as {dialect} SQL: {exc}") from exc
    if len(statements) != 1:
        kinds = ", ".join(type(s).__name__.upper() for s in statements) or "none"
        raise ConfigError(
            f"source SQL must be exactly one read-only SELECT/WITH query; found "
            f"{len(statements)} statements ({kinds})"
        )
    tree = statements[0]
    found = sorted({type(node).__name__.upper() for node in tree.find_all(*_WRITE_NODES)})
    if found or not isinstance(tree, exp.Query):
        what = ", ".join(found) if found else type(tree).__name__.upper()
        raise ConfigError(
            "source SQL must be one read-only SELECT/WITH query (it may not write, create, "
            f"drop, alter, copy or change settings); found {what}"
        )


#: Spark SQL's ``format.`path``` file readers (``parquet.`/data/x.parquet```).
SPARK_FILE_FORMATS = frozenset(
    {"parquet", "csv", "json", "orc", "text", "avro", "delta", "binaryfile", "xml", "jdbc"}
)


#: Table functions that read no file (``range(n)`` makes numbers).
_SPARK_SAFE_FUNCTIONS = frozenset({"range", "explode", "inline", "stack"})


def check_spark_paths(sql: str, allowed_paths: Sequence[str]) -> None:
    """Spark SQL may read files directly (``SELECT * FROM parquet.`/any/path```), which no
    Spark setting can switch off; so liftlab refuses, before the query runs, a file reader
    whose path is not one of the declared ``allowed_paths`` (files, or folders and everything
    under them) and any table-valued function (``read_files(…)``), naming what it found
    (DESIGN.md §7: the engine may read only the declared files or folders)."""
    tree = sqlglot.parse_one(sql, read="spark")
    allowed = [os.path.realpath(p) for p in allowed_paths]
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            if table.this.sql("spark").split("(")[0].strip().lower() in _SPARK_SAFE_FUNCTIONS:
                continue
            found = table.sql("spark")
            raise ConfigError(f"source SQL may not read through table functions on spark: {found}")
        if table.db.lower() not in SPARK_FILE_FORMATS:
            continue
        path = os.path.realpath(table.name)
        if not any(path == a or path.startswith(a.rstrip(os.sep) + os.sep) for a in allowed):
            readable = ", ".join(allowed_paths) or "none declared"
            raise ConfigError(
                f"source SQL may read only the declared allowed_paths ({readable}); it reads "
                f"{table.db}.`{table.name}`"
            )
