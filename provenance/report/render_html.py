"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.

Every value that comes from a file or the catalog (paths, tool names, reasons) is escaped;
a file called ``<script>.png`` shows as text.
"""

from __future__ import annotations

from html import escape

from provenance.lifecycle.states import AI_STATUSES
from provenance.report.chart import STATUS_COLOURS, bar_chart, status_chart
from provenance.report.data import Report, Section
from provenance.report.items import Item
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
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .charts figure, .cards li { break-inside: avoid; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  td.cmd code { background: none; padding: 0; margin-bottom: 3px; }
  td.path, td.cmd, th.cmd, td.details { min-width: 0; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _code(value: str) -> str:
    return f"<code>{_e(value)}</code>"


def _status(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#5d6770")
    return f'<span class="status" style="background:{colour}">{_e(status)}</span>'


def _days(item: Item, section: str) -> str:
    if item.days_left is None:
        return '<td class="num"></td>'
    if section == "overdue":
        return f'<td class="num late">{max(-item.days_left, 0)}</td>'
    css = "num late" if item.days_left < 0 else "num"
    return f'<td class="{css}">{item.days_left}</td>'


_DATE_HEADING = {
    "expiring": ("due", "days left"),
    "overdue": ("deadline", "days late"),
    "quarantined": ("bytes deleted", "days left"),
    "purged": ("purged", ""),
    "cleared": ("cleared", ""),
    "voided": ("when", ""),
    "attention": ("deadline", "days left"),
    "waiting": ("since", ""),
    "unreadable": ("last tried", ""),
}


def _section(section: Section) -> str:
    date_heading, days_heading = _DATE_HEADING.get(section.key, ("date", ""))
    parts = [
        f'<section id="section-{_e(section.key)}">',
        f'<h2>{_e(section.title)} <span class="count">({section.count})</span></h2>',
    ]
    if section.note:
        parts.append(f'<p class="note">{_e(section.note)}</p>')
    if not section.items:
        parts.append('<p class="none">None.</p></section>')
        return "".join(parts)
    days_col = bool(days_heading)
    head = [f"<th>{_e(date_heading)}</th>"]
    if days_col:
        head.append(f'<th class="num">{_e(days_heading)}</th>')
    commands_col = any(item.commands for item in section.items)
    head += ["<th>path</th>", "<th>root</th>", "<th>tool</th>", "<th>rule</th>", "<th>status</th>"]
    details = [
        "; ".join(x for x in (item.reason, item.reference, item.who) if x) for item in section.items
    ]
    details_col = any(details)
    if details_col:
        head.append("<th>details</th>")
    if commands_col:
        head.append('<th class="cmd">command</th>')
    table_class = "main" if section.key == "expiring" else "items"
    parts.append(f'<table class="{table_class}" id="table-{_e(section.key)}"><thead><tr>')
    parts.append("".join(head) + "</tr></thead><tbody>")
    for item, detail in zip(section.items, details, strict=True):
        commands = "".join(f"<code>{_e(c)}</code>" for c in item.commands)
        tool = _e(item.generator) if item.generator else '<span class="none">unknown</span>'
        owner = f"<br><small>{_e(item.owner)}</small>" if item.owner else ""
        parts.append(
            "<tr>"
            f'<td class="date">{_e(iso_date(item.when))}</td>'
            + (_days(item, section.key) if days_col else "")
            + f'<td class="path">{_e(item.path)}</td>'
            f"<td>{_e(item.root)}{owner}</td>"
            f"<td>{tool}</td>"
            f'<td class="rule">{_e(item.rule)}</td>'
            f"<td>{_status(item.status)}</td>"
            + (f'<td class="details">{_e(detail)}</td>' if details_col else "")
            + (f'<td class="cmd">{commands}</td>' if commands_col else "")
            + "</tr>"
        )
    parts.append("</tbody></table></section>")
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
    body += [
        '<section id="section-roots"><h2>By root</h2>',
        _roots_table(report),
        "</section>",
    ]
    body += [_section(section) for section in report.sections]
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
