"""The words every layer shares about cohort membership.

A bottom package (beside ``errors``): the Braze client, the state, the planner and the applier all
speak of adding and removing members and of arrays of member ids, and import both from here.
This module imports nothing heavy; :mod:`cohortops.membership.spilled` (pyarrow) holds id sets
too large to keep decoded, and :mod:`cohortops.membership.distinct` sorts and deduplicates ids.
"""

from __future__ import annotations

from typing import Literal, Protocol

MemberOp = Literal["add", "remove"]
"""One change of one member: ``add`` puts the member in the cohort, ``remove`` takes it out."""

MEMBER_OPS: tuple[MemberOp, ...] = ("add", "remove")


class IdArray(Protocol):
    """A pyarrow ``string`` or ``large_string`` array of member ids, never null, or an id set
    read from disk a slice at a time (:class:`~cohortops.membership.spilled.SpilledIds`).

    pyarrow ships no type stubs; this names the part of ``pyarrow.Array`` that code outside the
    modules computing with Arrow relies on, so a list or a table cannot be passed by mistake.
    ``slice`` returns a real pyarrow array (of that slice only); whole-set ``to_pylist`` is for
    small sets and tests.
    """

    @property
    def null_count(self) -> int: ...

    @property
    def type(self) -> object: ...  # pyarrow.string() or pyarrow.large_string()

    def __len__(self) -> int: ...

    def slice(self, offset: int = 0, length: int | None = None) -> IdArray: ...

    def to_pylist(self) -> list[str]: ...
