"""The warehouse diff as one ibis expression, compiled to each engine's SQL dialect.

The expression reads two unbound tables: ``cohortops_source`` (the cohort's query, one column
``v``) and the mirror (one column ``id``, distinct); when acknowledged changes are not yet in the
mirror, a third, ``cohortops_delta``, holds their ids. One ``FULL OUTER JOIN`` of the cleaned
source with the mirror, grouped by ``(kind, id)``, returns rows ``(kind, id, n)``:

- :data:`ADD`: a clean desired id missing from the mirror, ``n`` its source rows (grouping
  folds duplicates in the source: they never reach this machine);
- :data:`REMOVE`: a mirror id that is no longer desired;
- :data:`IN_BOTH`: a delta id desired and in the mirror (the client folds the deltas in);
- :data:`STATS` + reason code: source rows per hygiene outcome (code 0: valid rows matched in
  the mirror and not in the delta);
- :data:`FINGERPRINT`: the mirror's row count and fingerprint, checked against the values
  recorded when it was pushed (a second, aggregate-only read of the mirror).

Hygiene is the local engine's (:mod:`cohortops.sources.hygiene`): trim the same character set,
then empty, longer than 255 characters, control character, in that order. Regular expressions
are written with literal characters (no escapes), so one pattern reads the same in RE2, Java,
POSIX ARE and the others; NUL, which most warehouses cannot store, is checked only where a
string can hold it.
"""

from __future__ import annotations

import functools
from typing import Any

from cohortops.sources.hygiene import (
    BAD_TYPE,
    CONTROL,
    EMPTY,
    MAX_ID_LENGTH,
    MAX_ISSUES,
    MESSAGES,
    TOO_LONG,
    WHITESPACE,
)

SOURCE_TABLE = "cohortops_source"
DELTA_TABLE = "cohortops_delta"
ADD, REMOVE, IN_BOTH, FINGERPRINT = 1, 2, 3, 6
STATS = 100  # STATS + reason code: rows per hygiene outcome (code 0: valid)
REASON_CODES: dict[str, int] = {r: i + 1 for i, r in enumerate(MESSAGES)}
CODE_REASONS: dict[int, str] = {c: r for r, c in REASON_CODES.items()}
# Dialects whose strings can hold NUL (a control character the local engine rejects).
NUL_DIALECTS = frozenset({"duckdb"})
_WS_CLASS = "[" + WHITESPACE + "]"
_CONTROL_CLASS = "[\x01-\x1f\x7f-\x9f\u2028\u2029]"
# Printable ASCII with no space at either end needs no cleaning: one search, so the edge spaces
# cost no pass of their own (DuckDB, 10M ids: 1.10 s -> 0.83 s). In Java (Spark, Databricks) and
# Joni (Trino) `$` also matches before a final line terminator; such a string holds a character
# outside ` `..`~`, so it is not plain whichever branch matches. The group keeps the branches
# together where the pattern is wrapped (Snowflake: `.*` + pattern + `.*`, a full match).
_NOT_PLAIN = "([^ -~]|^ | $)"

# What an id column can be: text, an integer (its decimal text), a UUID (its text; as the
# local engine, only where the driver hands UUIDs over as such), anything else is rejected.
ColumnKind = str  # "string" | "int64" | "uuid" | "other"


def _ibis() -> Any:
    import ibis  # ~0.1 s: only warehouse plans pay for it

    return ibis


class _Deferred:
    """``_.column``: ibis's deferred column reference, imported lazily."""

    def __getattr__(self, name: str) -> Any:
        from ibis import _ as deferred

        return getattr(deferred, name)


_ = _Deferred()


def _clean(ibis: Any, source: Any, kind: ColumnKind, dialect: str, *keep: str) -> Any:
    """``(reason, id)`` per source row (and the ``keep`` columns): reason NULL for a good id."""
    raw = source.v
    if kind == "other":
        reason = ibis.cases((raw.isnull(), REASON_CODES[EMPTY]), else_=REASON_CODES[BAD_TYPE]).cast(
            "int16"
        )
        return source.select(*keep, reason=reason, id=ibis.null("string"))
    text = raw.cast("string") if kind != "string" else raw
    # Most ids are printable ASCII with no space at either end: one cheap match settles them,
    # and only the others pay for the trim and the control-character search.
    trimmed = source.select(
        *keep,
        v=text,
        plain=~text.re_search(_NOT_PLAIN) & (text != ""),
    ).select(
        *keep,
        "plain",
        v=ibis.cases(
            (_.plain, _.v),
            else_=_.v.re_replace("^" + _WS_CLASS + "+", "").re_replace(_WS_CLASS + "+$", ""),
        ),
    )
    v = trimmed.v
    control = v.re_search(_CONTROL_CLASS)
    if dialect in NUL_DIALECTS:
        control = control | v.contains("\x00")
    reason = ibis.cases(
        (v.isnull() | (v == ""), REASON_CODES[EMPTY]),
        (v.length() > MAX_ID_LENGTH, REASON_CODES[TOO_LONG]),
        (~trimmed.plain & control, REASON_CODES[CONTROL]),
        else_=ibis.null("int16"),
    ).cast("int16")
    return trimmed.select(*keep, reason=reason, id=v)


def _source(ibis: Any, kind: ColumnKind) -> Any:
    dtype = {"string": "string", "int64": "int64", "uuid": "uuid"}.get(kind, "string")
    return ibis.table({"v": dtype}, name=SOURCE_TABLE)


def diff_expr(kind: ColumnKind, dialect: str, mirror: tuple[str, str], *, with_delta: bool) -> Any:
    """One pass: the cleaned source ``FULL OUTER JOIN`` the mirror, grouped by ``(kind, id)``.

    Each source row and each mirror row reaches the grouping once (the mirror is distinct, so a
    source row matches at most one of its rows); only rejected rows, unmatched ids and delta
    ids carry an id, so the groups are the hygiene outcomes plus the changes. The distinct
    count needs no pass of its own: ``|mirror| - |removes| + |adds|``.
    """
    ibis = _ibis()
    clean = _clean(ibis, _source(ibis, kind), kind, dialect)
    # reason 0 marks a good row, NULL a mirror row without source; a rejected id never matches
    src = clean.select(
        reason=clean.reason.fill_null(0),
        id=ibis.cases((clean.reason.isnull(), clean.id), else_=ibis.null("string")),
    )
    members = ibis.table({"id": "string"}, name=mirror[1], database=mirror[0]).select("id")
    joined = src.outer_join(members, src.id == members.id)
    matched: list[tuple[Any, Any, Any]] = []
    if with_delta:
        delta = ibis.table({"id": "string"}, name=DELTA_TABLE)
        joined = joined.mutate(hit=joined.id.isin(delta.id))  # one probe, read twice below
        matched.append((joined.hit, IN_BOTH, joined.id))
    mid = joined.id_right
    outcomes = [
        (joined.reason.isnull(), REMOVE, mid),
        (joined.reason != 0, STATS + joined.reason.cast("int32"), ibis.null("string")),
        (mid.isnull(), ADD, joined.id),
        *matched,
    ]
    tagged = joined.select(
        kind=ibis.cases(*((c, k) for c, k, _i in outcomes), else_=STATS).cast("int32"),
        id=ibis.cases(*((c, i) for c, _k, i in outcomes), else_=ibis.null("string")),
    )
    grouped = tagged.group_by("kind", "id").aggregate(n=tagged.count().cast("int64"))
    fingerprint = _fingerprint(members).select(
        kind=ibis.literal(FINGERPRINT, "int32"), id="id", n="n"
    )
    return ibis.union(grouped, fingerprint, distinct=False)


def issues_expr(kind: ColumnKind, dialect: str) -> Any:
    """The first rejected rows: ``pos`` (1-based row of the query's result) and ``reason``."""
    ibis = _ibis()
    source = _source(ibis, kind)
    clean = _clean(ibis, source.mutate(pos=ibis.row_number() + 1), kind, dialect, "pos")
    return clean.filter(clean.reason.notnull()).order_by("pos").limit(MAX_ISSUES)


@functools.lru_cache(maxsize=64)
def fingerprint_sql(mirror: tuple[str, str], dialect: str) -> str:
    return compile_sql(fingerprint_expr(mirror), dialect)


def fingerprint_expr(mirror: tuple[str, str]) -> Any:
    """``(n, id)``: row count and fingerprint of a mirror table, as the diff computes them."""
    ibis = _ibis()
    members = ibis.table({"id": "string"}, name=mirror[1], database=mirror[0])
    return _fingerprint(members)


def _fingerprint(members: Any) -> Any:
    """Row count ``n`` and fingerprint ``id`` (total id length, min id, max id)."""
    return members.aggregate(
        n=members.count(),
        id=(
            members.id.length().sum().cast("string")
            + ":"
            + members.id.min().fill_null("")
            + ":"
            + members.id.max().fill_null("")
        ),
    )


@functools.lru_cache(maxsize=64)
def diff_sql(kind: ColumnKind, dialect: str, mirror: tuple[str, str], *, with_delta: bool) -> str:
    """The compiled :func:`diff_expr` (compiling costs ~0.3 s; the SQL depends on these only)."""
    return compile_sql(diff_expr(kind, dialect, mirror, with_delta=with_delta), dialect)


@functools.lru_cache(maxsize=16)
def issues_sql(kind: ColumnKind, dialect: str) -> str:
    return compile_sql(issues_expr(kind, dialect), dialect)


# Engines that may materialise a CTE read twice: the mirror is read by the join and by the
# fingerprint, and copying it (10M rows on PostgreSQL: a spilled tuplestore) costs more than
# scanning it twice. A CTE that reads the source is materialised (the issues query).
MATERIALIZE = frozenset({"duckdb", "postgres"})
# PostgreSQL pulls subqueries up and then computes each reference to a derived column again (no
# common subexpressions): the cleaning steps, nested, ran their pattern search several times a
# row. `OFFSET 0` keeps each step a subquery computed once per row (10M ids: 33 s -> 18 s).
FENCE = frozenset({"postgres"})


def _reads_source_only(select: Any) -> bool:
    """A step of the source's cleaning: a subquery whose tables are all the source."""
    from sqlglot import exp

    tables = [t.name for t in select.find_all(exp.Table)]
    return bool(tables) and set(tables) == {SOURCE_TABLE} and select.args.get("offset") is None


def compile_sql(expr: Any, dialect: str, source_sql: str | None = None) -> str:
    """The expression's SQL for ``dialect``; ``source_sql`` becomes the source table (a CTE)."""
    sql = str(_ibis().to_sql(expr, dialect=dialect))
    if dialect in MATERIALIZE:
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read=dialect)
        for cte in tree.find_all(exp.CTE):
            reads_source = any(t.name == SOURCE_TABLE for t in cte.this.find_all(exp.Table))
            # the cleaned source: once; a table scan or a filter of a CTE: where it is read
            cte.set("materialized", reads_source)
        if dialect in FENCE:
            for select in tree.find_all(exp.Select):
                if select is not tree and _reads_source_only(select):
                    select.set("offset", exp.Offset(expression=exp.Literal.number(0)))
        sql = tree.sql(dialect=dialect, pretty=True)
    return sql if source_sql is None else with_source(sql, dialect, source_sql)


def with_source(sql: str, dialect: str, source_sql: str) -> str:
    """Compiled ``sql`` with ``source_sql`` as its source table, a CTE put first."""
    import sqlglot

    name = sqlglot.exp.to_identifier(SOURCE_TABLE, quoted=True).sql(dialect=_glot(dialect))
    cte = f"{name} AS (\n{source_sql.strip().rstrip(';')}\n)"
    if sql.lstrip().upper().startswith("WITH "):
        head = sql.lstrip()
        return f"WITH {cte},\n{head[5:]}"
    return f"WITH {cte}\n{sql}"


def _glot(dialect: str) -> str:
    return {"pyspark": "spark", "postgres": "postgres"}.get(dialect, dialect)
