"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.

Every value that comes from a file or the catalog (paths, tool names, reasons) is escaped;
a file called ``<script>.png`` shows as text.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Mapping
from html import escape

from provenance.lifecycle.states import AI_STATUSES, COLOURS
from provenance.report.chart import bar_chart, status_chart
from provenance.report.data import Report, Section
from provenance.report.groups import DATE_LABELS, Group, days_text, productions
from provenance.report.pictures import pictured
from provenance.report.render_text import audit_line, iso, iso_date

_CSS = """
:root { --ink: #1d2329; --muted: #5d6770; --line: #d9dee3; --band: #f4f6f8; --accent: #24527a; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 {
  font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid
  var(--line); }
h2 .count { color: var(--muted); font-weight: normal; }
.meta { color: var(--muted); margin: 0 0 16px; }
.cards {
  display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0 8px; padding: 0; list-style: none;
  }
.cards li {
  flex: 1 1 130px; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.cards a { color: inherit; text-decoration: none; display: block; }
.cards .n { display: block; font-size: 26px; font-weight: 600; }
.cards .label { color: var(--muted); font-size: 12px; }
.cards .warn .n { color: #b54a2f; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin: 16px 0; }
.charts figure {
  flex: 1 1 480px; margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px;
  }
svg.chart { width: 100%; height: auto; display: block; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: var(--ink); }
svg .axis { font-size: 11px; fill: var(--muted); }
svg .value { font-size: 11px; fill: var(--ink); }
svg .grid { stroke: var(--line); stroke-width: 1; }
table { width: 100%; border-collapse: collapse; margin: 4px 0 8px; }
th, td {
  text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid
  var(--line); }
th {
  background: var(--band); font-size: 12px; text-transform: uppercase; letter-spacing: .03em;
  color: var(--muted); }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.date { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.path {
  overflow-wrap: anywhere; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas,
  monospace; font-size: 12.5px; min-width: 16em; width: 24%; }
td.rule { white-space: nowrap; }
td.details { min-width: 12em; }
table.trend { width: auto; min-width: 50%; }
td.cmd, th.cmd { width: 36%; min-width: 14em; }
td.cmd code { display: block; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 11.5px;
  background: var(--band); border-radius: 3px; padding: 2px 5px; margin: 1px 0; user-select:
  all; }
.status {
  display: inline-block; padding: 0 6px; border-radius: 9px; color: #fff; font-size: 12px;
  white-space: nowrap; }
.late { color: #b54a2f; font-weight: 600; }
.none { color: var(--muted); font-style: italic; }
.note { color: var(--muted); font-style: italic; margin: 4px 0; }
.audit { overflow-wrap: anywhere; font-size: 12.5px; }
details.production > summary { font-weight: 600; }
details.production > summary .count { color: var(--muted); font-weight: normal; }
details.production[open] { margin-bottom: 10px; }
details.group { margin-left: 3%; font-weight: normal; }
.ghead, details.group > summary, details.production > summary { display: flex; gap: 8px;
  align-items: baseline; padding: 3px 6px; border-bottom: 1px solid var(--line); }
.ghead { background: var(--band); font-size: 12px; text-transform: uppercase;
  color: var(--muted); }
details > summary { cursor: pointer; }
details[open] > summary { background: var(--band); }
.folder { flex: 0 0 24%; overflow-wrap: anywhere; font-family: ui-monospace, Menlo, Consolas,
  monospace; font-size: 12.5px; }
.n { flex: 0 0 6%; text-align: right; font-variant-numeric: tabular-nums; }
.st { flex: 0 0 15%; }
.when { flex: 0 0 15%; font-variant-numeric: tabular-nums; }
.owner { flex: 0 0 10%; overflow-wrap: anywhere; }
.cmd { flex: 1 1 0; min-width: 0; }
.cmd code, .alerts code { display: block; white-space: pre-wrap; overflow-wrap: anywhere;
  font-size: 11.5px; background: var(--band); border-radius: 3px; padding: 1px 5px;
  user-select: all; }
table.files { margin: 2px 0 8px 2%; width: 98%; }
.alerts { margin: 4px 0 8px; padding-left: 24px; }
.alerts li { margin: 3px 0; }
.alerts .where { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px;
  overflow-wrap: anywhere; }
.days { color: var(--muted); }
.pics { display: flex; gap: 3px; margin-top: 2px; }
.pics img { height: 40px; width: auto; max-width: 72px; object-fit: contain;
  border: 1px solid var(--line); border-radius: 2px; background: var(--band); }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .charts figure, .cards li { break-inside: avoid; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  td.cmd code, .cmd code, .alerts code { background: none; padding: 0; }
  details > summary, .alerts li { break-inside: avoid; }
  td.path, td.cmd, th.cmd, td.details { min-width: 0; }
  a { color: inherit; text-decoration: none; }
  .pics img { height: 28px; max-width: 48px; }
}
"""


def _e(value: object) -> str:
    return escape(value if isinstance(value, str) else str(value), quote=True)


def _code(value: str) -> str:
    return f"<code>{_e(value)}</code>"


def _status(status: str) -> str:
    colour = COLOURS.get(status, "#5d6770")
    return f'<span class="status" style="background:{colour}">{_e(status)}</span>'


def _size(size: int) -> str:
    """Return a byte count as people read it (1.2 GB)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def _statuses(counts: dict[str, int]) -> str:
    return " ".join(f"{_status(status)}&nbsp;{n}" for status, n in counts.items())


def _when(item_when: object, days_left: int | None, section: str) -> str:
    text = _e(iso_date(item_when))  # type: ignore[arg-type]
    if days_left is None or not text:
        return text
    late = days_left < 0 or section == "overdue"
    days = days_text(days_left)
    return f'{text} <span class="{"late" if late else "days"}">({days})</span>'


def _files_table(section: Section, group: Group) -> str:
    date_heading = DATE_LABELS.get(section.key, "date")
    rows = []
    for item in group.items:
        tool = _e(item.generator) if item.generator else '<span class="none">unknown</span>'
        detail = "; ".join(x for x in (item.reason, item.reference, item.who) if x)
        rows.append(
            "<tr>"
            f'<td class="path">{_e(posixpath.basename(item.path) or item.path)}</td>'
            f'<td class="date">{_when(item.when, item.days_left, section.key)}</td>'
            f"<td>{_status(item.status)}</td><td>{tool}</td>"
            f'<td class="rule">{_e(item.rule)}</td><td class="details">{_e(detail)}</td>'
            "</tr>"
        )
    if group.more:
        rows.append(
            f'<tr><td class="none" colspan="6">… and {group.more} more '
            f"{'file' if group.more == 1 else 'files'} in this folder</td></tr>"
        )
    return (
        '<table class="files"><thead><tr><th>file</th>'
        f"<th>{_e(date_heading)}</th><th>status</th><th>tool</th><th>rule</th>"
        f"<th>details</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _pictures(group: Group, thumbnails: Mapping[str, bytes]) -> str:
    """Return the pictures of a folder group's first files (``report.pictures``), if any."""
    images = []
    for item in pictured(group):
        data = thumbnails.get(item.content_hash)
        if data is None:
            continue
        name = _e(posixpath.basename(item.path))
        encoded = base64.b64encode(data).decode("ascii")
        images.append(f'<img src="data:image/webp;base64,{encoded}" alt="{name}" title="{name}">')
    return f'<span class="pics">{"".join(images)}</span>' if images else ""


def _group_line(section: str, group: Group, name: str, pictures: str = "") -> str:
    command = f"<code>{_e(group.command)}</code>" if group.command else ""
    return (
        f'<span class="folder">{name}{pictures}</span>'
        f'<span class="n">{group.count}</span><span class="n">{_size(group.size)}</span>'
        f'<span class="st">{_statuses(group.statuses)}</span>'
        f'<span class="when">{_when(group.when, group.days_left, section)}</span>'
        f'<span class="owner">{_e(group.owner)}</span>'
        f'<span class="cmd">{command}</span>'
    )


def _section(section: Section, thumbnails: Mapping[str, bytes]) -> str:
    date_heading = DATE_LABELS.get(section.key, "date")
    parts = [
        f'<section id="section-{_e(section.key)}">',
        f'<h2>{_e(section.title)} <span class="count">({section.count})</span></h2>',
    ]
    if section.note:
        parts.append(f'<p class="note">{_e(section.note)}</p>')
    if not section.items:
        parts.append('<p class="none">None.</p></section>')
        return "".join(parts)
    parts.append(
        f'<div class="groups" id="groups-{_e(section.key)}">'
        '<div class="ghead"><span class="folder">folder</span><span class="n">files</span>'
        f'<span class="n">size</span><span class="st">status</span><span class="when">'
        f'{_e(date_heading)}</span><span class="owner">owner</span>'
        '<span class="cmd">command</span></div>'
    )
    for whole, groups in productions(section.groups):
        folders = "1 folder" if len(groups) == 1 else f"{len(groups)} folders"
        parts.append(
            '<details class="production"><summary>'
            + _group_line(
                section.key,
                whole,
                f"{_e(whole.root)} / {_e(whole.production or '(root folder)')} "
                f'<small class="count">{folders}</small>',
                _pictures(whole, thumbnails),
            )
            + "</summary>"
        )
        for group in groups:
            parts.append(
                '<details class="group"><summary>'
                + _group_line(
                    section.key,
                    group,
                    _e(group.folder or "(root folder)"),
                    _pictures(group, thumbnails),
                )
                + f"</summary>{_files_table(section, group)}</details>"
            )
        parts.append("</details>")
    parts.append("</div></section>")
    return "".join(parts)


def _alerts(report: Report) -> str:
    parts = [
        '<section id="section-alerts"><h2>Needs a decision now '
        f'<span class="count">({len(report.alerts) + report.alerts_more})</span></h2>'
    ]
    if not report.alerts:
        parts.append('<p class="none">Nothing.</p></section>')
        return "".join(parts)
    parts.append('<ol class="alerts">')
    for alert in report.alerts:
        where = f"{alert.root}: {alert.path}" if alert.path else alert.root
        when = _when(alert.when, alert.days_left, "")
        parts.append(
            "<li>"
            + (f'<span class="when">{when}</span> ' if when else "")
            + f"<b>{_e(alert.text)}</b>"
            + (f' <span class="where">{_e(where)}</span>' if where else "")
            + (f" <small>{_e(alert.owner)}</small>" if alert.owner else "")
            + (f" <code>{_e(alert.command)}</code>" if alert.command else "")
            + "</li>"
        )
    parts.append("</ol>")
    if report.alerts_more:
        parts.append(f'<p class="note">… and {report.alerts_more} more in the sections below.</p>')
    parts.append("</section>")
    return "".join(parts)


def _cards(report: Report) -> str:
    warn = {"overdue", "quarantined", "attention", "voided", "waiting", "unreadable"}
    cards = []
    for section in report.sections:
        css = ' class="warn"' if section.key in warn and section.count else ""
        cards.append(
            f'<li{css}><a href="#section-{_e(section.key)}">'
            f'<span class="n">{section.count}</span>'
            f'<span class="label">{_e(section.title)}</span></a></li>'
        )
    return '<ul class="cards">' + "".join(cards) + "</ul>"


def _roots_table(report: Report) -> str:
    head = "".join(f'<th class="num">{_e(s)}</th>' for s in AI_STATUSES)
    rows = []
    for root in report.roots:
        cells = "".join(f'<td class="num">{root.by_status.get(s, 0)}</td>' for s in AI_STATUSES)
        rows.append(f"<tr><td>{_e(root.label)}</td><td>{_e(root.owner)}</td>{cells}</tr>")
    totals = "".join(f'<td class="num"><b>{report.totals.get(s, 0)}</b></td>' for s in AI_STATUSES)
    rows.append(f"<tr><td><b>all</b></td><td></td>{totals}</tr>")
    return (
        '<table class="roots" id="table-roots"><thead><tr><th>root</th><th>owner</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _trend_table(report: Report) -> str:
    rows = "".join(
        f'<tr><td class="date">{w.start.isoformat()}</td><td class="num">{w.found}</td>'
        f'<td class="num">{w.cleared}</td><td class="num">{w.purged}</td></tr>'
        for w in report.trend
    )
    return (
        '<table class="trend" id="table-trend"><thead><tr><th>week from</th>'
        '<th class="num">AI found</th><th class="num">cleared</th><th class="num">purged</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def render_html(report: Report) -> str:
    """Return the report as one HTML document that needs nothing else to show or print."""
    period = report.period
    per_day = [(day.strftime("%a %d"), n) for day, n in report.per_day]
    by_status = [(status, report.totals.get(status, 0)) for status in AI_STATUSES]
    title = f"AI asset expiry report — {report.scope} — {iso_date(period.as_of)}"
    body = [
        "<main>",
        f"<h1>AI asset expiry report <small>— {_e(report.scope)}</small></h1>",
        f'<p class="meta">As of {_e(iso_date(period.as_of))} (UTC): the coming {period.days} days '
        f"to {_e(iso_date(period.coming_end))} and the past {period.days} days from "
        f"{_e(iso_date(period.past_start))}. Generated {_e(iso(report.generated_at))}.</p>",
        _cards(report),
        '<div class="charts">',
        "<figure>"
        + bar_chart(
            per_day, f"Expiries per day, next {period.days} days", "chart-expiries", "#d89b2b"
        )
        + "</figure>",
        "<figure>" + status_chart(by_status, "AI assets by status", "chart-status") + "</figure>",
        "</div>",
    ]
    body.append(_alerts(report))
    body += [
        '<section id="section-roots"><h2>By root</h2>',
        _roots_table(report),
        "</section>",
    ]
    body += [_section(section, report.thumbnails) for section in report.sections]
    body += [
        '<section id="section-trend"><h2>Trend: the last 8 weeks</h2>',
        _trend_table(report),
        "</section>",
    ]
    if report.audit is not None:
        body.append(
            '<section id="section-audit"><h2>Audit trail</h2>'
            f'<p class="audit">{audit_line(report, _code)}</p></section>'
        )
    body.append("</main>")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
