"""What plain scalars become: the module docstring's rules, one by one."""

from __future__ import annotations

import pytest

from cohortops.config.yamlpos import parse_yaml


def value_of(text: str) -> object:
    parsed, problems = parse_yaml(f"v: {text}\n", "f.yaml")
    assert problems == [] and parsed is not None
    return parsed.data["v"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("~", None),
        ("Null", None),
        ("true", True),
        ("FALSE", False),
        ("-12", 12 * -1),
        ("+7", 7),
        ("1.5e3", 1500.0),
        (".5", 0.5),
        ("16:30", "16:30"),
        ("on", "on"),
        ("yes", "yes"),
        ("0x1F", "0x1F"),
        ("0o17", "0o17"),
        ("017", 17.0),  # a leading zero is not an integer; the float pattern takes it
        (".inf", ".inf"),
        ("-.inf", "-.inf"),
        (".nan", ".nan"),
        ("2024-01-31", "2024-01-31"),
        ("'12'", "12"),
        ('"true"', "true"),
    ],
)
def test_plain_scalars_resolve_to_json_types_only(text: str, expected: object) -> None:
    got = value_of(text)
    assert got == expected and type(got) is type(expected)


def test_merge_keys_are_ordinary_keys() -> None:
    parsed, problems = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "f.yaml")
    assert problems == [] and parsed is not None
    assert parsed.data["other"] == {"<<": {"x": 1}, "y": 2}
