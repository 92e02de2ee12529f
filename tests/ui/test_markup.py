from __future__ import annotations

from cohortops.ui.markup import Html, esc, h, join, table, url


def test_values_are_escaped_unless_already_markup() -> None:
    assert esc('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"
    assert esc(Html("<b>")) == "<b>"
    assert h("<p>{}</p>", "<i>") == "<p>&lt;i&gt;</p>"
    assert join(["<", Html("<br>")]) == "&lt;<br>"
    assert esc(None) == ""


def test_urls_are_same_site_paths_with_encoded_segments() -> None:
    assert url("cohort", "a/b c") == "/cohort/a%2Fb%20c"
    assert url("cohort", "javascript:alert(1)") == "/cohort/javascript%3Aalert%281%29"
    assert url("member", query={"id": "x&y"}) == "/member?id=x%26y"


def test_tables_escape_cells_and_mark_numeric_columns() -> None:
    out = table(["id", "n"], [["<x>", 3]], numeric=(1,))
    assert "<td>&lt;x&gt;</td>" in out and '<td class="num">3</td>' in out
