"""File sources read in plain Python: the reference path, and the layout facts DuckDB needs.

Every reader yields ``(position, raw, reason)``: the 1-based line (CSV, JSONL) or row (Parquet),
the raw value (``None`` when missing) and a reason when the row is already known to be bad
(invalid JSON, a non-string value). Blank lines are skipped, as DuckDB's CSV reader skips them.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from cohortops.config.confine import forbidden
from cohortops.config.model import FileSource
from cohortops.errors import SourceError
from cohortops.sources.hygiene import BAD_JSON, HEADER, NOT_OBJECT, one_line, scalar_to_raw

Row = tuple[int, str | None, str | None]

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_PARQUET_BATCH = 65_536

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class CsvLayout:
    """What the header says: column names, which one holds ids, how many lines it spans."""

    names: tuple[str, ...]
    index: int
    header_lines: int


def missing_file(source: FileSource, cohort_id: str) -> SourceError:
    return SourceError(
        f"Cohort {cohort_id}: source file {source.path} does not exist.",
        hint="Create it or fix the cohort's `source.file` path.",
    )


def unreadable(source: FileSource, cohort_id: str, detail: str) -> SourceError:
    return SourceError(
        f"Cohort {cohort_id}: cannot read {source.format} source {source.path}: {one_line(detail)}.",
        hint=f"Fix the file or the cohort's source settings (format: {source.format}).",
    )


_EXCERPT = 120
_NAME = 32


def _masked_name(name: str, secrets: list[str]) -> str:
    text = "".join(c if c.isprintable() else "?" for c in name[: _NAME * 4])
    for secret in secrets:
        text = text.replace(secret, "***")
    if "=" in text:  # KEY=value: a header never needs one; never show the value
        text = text.split("=", 1)[0] + "=***"
    return text if len(text) <= _NAME else text[: _NAME - 1] + "…"


def header_excerpt(names: tuple[str, ...]) -> str:
    """A short, sanitised excerpt of a header for an error message: printable characters only,
    environment values and anything after ``=`` masked, each name and the whole cut short."""
    secrets = sorted((v for v in os.environ.values() if len(v) >= 6), key=len, reverse=True)
    shown = ""
    for count, name in enumerate(names):
        part = _masked_name(name, secrets)
        if len(shown) + len(part) > _EXCERPT:
            return shown + f", … ({len(names) - count} more)"
        shown = part if not shown else f"{shown}, {part}"
    return shown


def _no_column(source: FileSource, cohort_id: str, names: tuple[str, ...]) -> SourceError:
    shown = header_excerpt(names)
    what = "field" if source.format == "jsonl" else "column"
    return SourceError(
        f"Cohort {cohort_id}: {source.path} has no {what} '{source.column}' (found: {shown}).",
        hint=f"Set `source.column` to one of the file's {what}s.",
    )


def _check_exists(source: FileSource, cohort_id: str) -> None:
    system = forbidden(source.path)
    if system is not None:
        raise SourceError(
            f"Cohort {cohort_id}: source file {source.path} is under {system}, which is never "
            "read as a source.",
            hint="Point `source.file` at a data file inside the project.",
        )
    if not source.path.is_file():
        raise missing_file(source, cohort_id)


def _check_delimiter(source: FileSource, cohort_id: str) -> None:
    if len(source.delimiter) != 1 or source.delimiter in '"\r\n':
        raise SourceError(
            f"Cohort {cohort_id}: CSV delimiter {source.delimiter!r} is not usable.",
            hint="Use one character other than a quote or a line break, e.g. ',' or '\\t'.",
        )


def csv_layout(source: FileSource, cohort_id: str) -> CsvLayout:
    """Read the header record (if any) and locate the identifier column."""
    _check_exists(source, cohort_id)
    _check_delimiter(source, cohort_id)
    if not source.header:
        if source.column is not None:
            raise SourceError(
                f"Cohort {cohort_id}: `source.column` needs a header row in {source.path}.",
                hint="Set `header: true` or remove `column` to use the first column.",
            )
        return CsvLayout(names=("c0",), index=0, header_lines=0)
    try:
        with source.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=source.delimiter)
            header = next(reader, None)
            header_lines = reader.line_num
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise unreadable(source, cohort_id, str(exc)) from exc
    if not header:
        raise SourceError(
            f"Cohort {cohort_id}: {source.path} is empty; a header row was expected.",
            hint="Check the export that writes it, or set `header: false`.",
        )
    names = tuple(header)
    if source.column is None:
        return CsvLayout(names=names, index=0, header_lines=header_lines)
    wanted = source.column.strip()
    for index, name in enumerate(names):
        if name.strip() == wanted:
            return CsvLayout(names=names, index=index, header_lines=header_lines)
    raise _no_column(source, cohort_id, names)


def iter_csv(source: FileSource, cohort_id: str) -> Iterator[Row]:
    layout = csv_layout(source, cohort_id)
    index = layout.index
    header = layout.names[index] if source.header and index < len(layout.names) else None
    try:
        with source.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=source.delimiter)
            if source.header:
                next(reader, None)
            before = reader.line_num
            for record in reader:
                line = before + 1
                before = reader.line_num
                if not record:
                    continue
                value = record[index] if index < len(record) else None
                yield line, value, (HEADER if header is not None and value == header else None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise unreadable(source, cohort_id, str(exc)) from exc


def _json_row(text: str, field: str | None) -> tuple[str | None, str | None]:
    try:
        document = json.loads(text)
    except ValueError:
        return None, BAD_JSON
    if _SURROGATE_ESCAPE.search(text):
        try:  # a lone surrogate escape decodes in Python but is not valid UTF-8 text
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return None, BAD_JSON
    if not isinstance(document, dict):
        return None, NOT_OBJECT
    key = field if field is not None else next(iter(document), None)
    return scalar_to_raw(document.get(key) if key is not None else None)


def iter_jsonl(source: FileSource, cohort_id: str) -> Iterator[Row]:
    _check_exists(source, cohort_id)
    try:
        with source.path.open(encoding="utf-8-sig", newline="\n") as handle:
            for line_number, line in enumerate(handle, start=1):
                text = line[:-1] if line.endswith("\n") else line
                text = text[:-1] if text.endswith("\r") else text
                if not text.strip(" "):
                    continue
                raw, reason = _json_row(text, source.column)
                yield line_number, raw, reason
    except UnicodeDecodeError as exc:
        raise unreadable(source, cohort_id, str(exc)) from exc


def parquet_column(source: FileSource, cohort_id: str) -> tuple[str, pa.DataType]:
    """The identifier column's name and type; strings and integers only."""
    import pyarrow.parquet as pq  # Parquet sources only: CSV and JSONL plans skip ~15 ms

    _check_exists(source, cohort_id)
    try:
        schema = pq.read_schema(source.path)
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(source, cohort_id, str(exc)) from exc
    names = tuple(schema.names)
    if not names:
        raise unreadable(source, cohort_id, "the file has no columns")
    name = names[0] if source.column is None else source.column
    if name not in names:
        raise _no_column(source, cohort_id, names)
    kind = schema.field(name).type
    value_kind = kind.value_type if pa.types.is_dictionary(kind) else kind
    if not (is_text(value_kind) or pa.types.is_integer(value_kind) or pa.types.is_null(kind)):
        raise SourceError(
            f"Cohort {cohort_id}: column '{name}' of {source.path} has type {kind}.",
            hint="Identifiers must be strings or integers; cast the column when exporting.",
        )
    return name, kind


def is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def iter_parquet(source: FileSource, cohort_id: str) -> Iterator[Row]:
    import pyarrow.parquet as pq

    name, _ = parquet_column(source, cohort_id)
    position = 0
    try:
        batches = pq.ParquetFile(source.path).iter_batches(
            batch_size=_PARQUET_BATCH, columns=[name]
        )
        for batch in batches:
            column = batch.column(0)
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            for value in column.to_pylist():
                position += 1
                raw, reason = scalar_to_raw(value)
                yield position, raw, reason
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(source, cohort_id, str(exc)) from exc


def iter_file(source: FileSource, cohort_id: str) -> Iterator[Row]:
    if source.format == "csv":
        return iter_csv(source, cohort_id)
    if source.format == "jsonl":
        return iter_jsonl(source, cohort_id)
    return iter_parquet(source, cohort_id)
