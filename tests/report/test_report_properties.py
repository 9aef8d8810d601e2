"""Properties of the renderers over any file name: nothing runs, nothing breaks a table."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.catalog.reports import AssetLine
from provenance.report.data import Inputs, Period, assemble
from provenance.report.render_html import render_html
from provenance.report.render_text import (
    csv_rows,
    guard_cell,
    indented_json,
    md_code,
    render_markdown,
)
from tests.report.sample import AS_OF, GENERATED_AT

names = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


def _report(name: str, generator: str) -> object:
    line = AssetLine(
        1,
        f"/prod/{name}",
        "/prod",
        "temporary",
        "ai",
        generator,
        None,
        name,
        AS_OF + timedelta(days=1),
        AS_OF,
        True,
        "h",
        1,
    )
    inputs = Inputs(
        due=[line],
        overdue=[],
        quarantined=[],
        unknown_tool=[],
        purged=[],
        cleared=[],
        voided=[],
        status_counts={},
        per_day={},
        weekly={},
    )
    return assemble(inputs, Period(AS_OF), GENERATED_AT)


@given(names)
def test_guarded_cells_never_start_a_formula(value: str) -> None:
    assert not guard_cell(value).startswith(("=", "+", "-", "@", "\t", "\r"))


@given(names)
def test_md_code_never_leaves_a_bare_pipe_or_newline(value: str) -> None:
    code = md_code(value)
    assert "\n" not in code and "\r" not in code
    assert code.replace("\\|", "").count("|") == 0


# a whole report rendered twice an example: its time follows the machine's load (390 ms
# seen on a busy 2-core CI leg), so no per-example deadline; the examples are bounded
@settings(max_examples=60, deadline=None)
@given(names, names)
def test_any_file_name_renders_as_text(name: str, generator: str) -> None:
    report = _report(name, generator)
    page = render_html(report)  # type: ignore[arg-type]
    body = page.split("<body>", 1)[1]
    assert "<script" not in body.lower()
    main = body.split('<div class="groups" id="groups-expiring">', 1)[1].split("</table>", 1)[0]
    assert main.count("<tr>") == 2  # the header and the one asset
    markdown = render_markdown(report)  # type: ignore[arg-type]
    # one group line and its one file line: nothing in the name split or started a line
    expiring = markdown.split("## Expiring in the coming period (1)", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in expiring.splitlines() if ln and not ln.startswith("### ")]
    assert len(lines) == 2 and lines[0].startswith("- `") and lines[1].startswith("  `")
    rows = [row for row in csv_rows(report) if row[0] != "alert"]  # type: ignore[arg-type]
    assert len(rows) == 2


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(
            st.text(max_size=8) | st.integers() | st.booleans() | st.none() | st.floats(),
            inner,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_the_json_report_is_written_as_json_dumps_would_indent_it(value: object) -> None:
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)
