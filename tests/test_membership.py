"""The shared membership words: one list of operations, and arrays that fit ``IdArray``."""

from __future__ import annotations

from typing import get_args

import pyarrow as pa

from cohortops.membership import MEMBER_OPS, IdArray, MemberOp


def test_member_ops_list_every_operation() -> None:
    assert MEMBER_OPS == get_args(MemberOp) == ("add", "remove")


def test_pyarrow_string_arrays_have_what_id_array_names() -> None:
    for array in (pa.array(["b", "a"], pa.string()), pa.array(["b"], pa.large_string())):
        ids: IdArray = array
        names = ("null_count", "type", "__len__", "slice", "to_pylist")
        assert all(hasattr(ids, name) for name in names)
        assert ids.slice(0, 1).to_pylist() == ["b"] and ids.null_count == 0
