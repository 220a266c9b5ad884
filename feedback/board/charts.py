"""The dashboard's charts as data: one spec per chart, read by the template (a canvas that
static/feedback/board.js draws with Chart.js, or server-rendered SVG), by the text alternative (the
same table) and by the CSV export (the same table again). Pure: it takes the panels' data."""

from datetime import date
from html import escape

from feedback.board.selectors import Period

PALETTE = ["#3b6ea5", "#d9822b", "#2d7d46", "#7a5aa5", "#b5443b", "#4d8f8f", "#8a6d3b", "#5f6b7a"]
PREVIOUS = "#a9b4c2"


def _pct(value):
    return None if value is None else round(100 * value, 1)


def _minutes(value):
    if value is None:
        return ""
    return f"{value:g}"


def duration(value) -> str:
    """Minutes as people read them: 42 min, 2 h, 2 h 05 min, 3 d 4 h; an em dash for none (the `minutes`
    filter). A no-break space ties each number to its unit, so a narrow box never ends a line on "2 h 00"."""
    if value is None or value == "":
        return "—"
    value = float(value)
    if value < 60:
        return f"{value:g}\u00a0min"
    if value < 1440:
        hours, rest = divmod(int(round(value)), 60)
        return f"{hours}\u00a0h {rest:02d}\u00a0min" if rest else f"{hours}\u00a0h"
    days, rest = divmod(int(round(value)), 1440)
    return f"{days}\u00a0d {rest // 60}\u00a0h" if rest // 60 else f"{days}\u00a0d"


def _gap(value):
    """A gap index as the dashboard prints it (signed, two decimals: "+0.94"), in tables and CSV alike."""
    return None if value is None else f"{value:+.2f}"


def _week(day: date) -> str:
    return f"{day:%b %-d}"


def _spec(chart_id, title, *, kind="bar", labels=(), datasets=(), unit="count", horizontal=False, head=(),
          rows=(), empty="No data in this period.", summary="", svg=None):
    labels, rows, datasets = list(labels), [list(row) for row in rows], list(datasets)
    return {"id": chart_id, "title": title, "kind": kind, "labels": labels, "datasets": datasets, "unit": unit,
            "horizontal": horizontal, "head": list(head), "rows": rows, "empty": empty, "summary": summary,
            "has_data": bool(rows), "svg": svg,
            # A figure to draw (rows may all be "—": a response promise with no replies yet).
            "drawable": any(value is not None for dataset in datasets for value in dataset["data"])}


def gap_charts(gap: dict, period: Period) -> list[dict]:
    promises = gap["promises"]
    ranked = [p for p in promises if p["gap"] is not None]
    worst = ranked[0] if ranked else None
    charts = [_spec(
        "gap", "Gap index by promise (above 0: the company under-delivers)", horizontal=True, unit="gap",
        labels=[p["name"] for p in ranked],
        datasets=[{"label": str(period), "data": [p["gap"] for p in ranked], "color": PALETTE[4]},
                  {"label": f"Previous: {period.previous}", "data": [p["prev_gap"] for p in ranked], "color": PREVIOUS}],
        head=["Promise", "Mentions", "Shortfalls", "Delights", "Gap index", "Previous mentions", "Previous gap index",
              "Change"],
        rows=[[p["name"], p["mentions"], p["shortfalls"], p["delights"], _gap(p["gap"]), p["prev_mentions"],
               _gap(p["prev_gap"]), _gap(p["change"])] for p in promises],
        empty="No mentions about a promise in this period.",
        summary=(f"The widest gap is {worst['name']} at {worst['gap']:+.2f} ({worst['mentions']} mentions)."
                 if worst else ""),
    )]
    weeks = gap["weeks"]
    shown = sorted(promises, key=lambda p: -sum(p["trend_mentions"]))[:6]
    charts.append(_spec(
        "gap_trend", "Gap index by promise, week by week", kind="line", unit="gap",
        labels=[_week(w) for w in weeks],
        datasets=[{"label": p["name"], "data": p["trend"], "color": PALETTE[i % len(PALETTE)]}
                  for i, p in enumerate(shown)],
        head=["Week of", *[f"{p['name']} (gap)" for p in shown], *[f"{p['name']} (mentions)" for p in shown]],
        rows=[[w.isoformat(), *[_gap(p["trend"][i]) for p in shown], *[p["trend_mentions"][i] for p in shown]]
              for i, w in enumerate(weeks)] if shown else [],
        empty="No mentions about a promise in the last 12 weeks.",
        summary="Weekly gap index of the most discussed promises over the last 12 weeks.",
    ))
    return charts


def region_chart(regions: dict) -> dict:
    rows = [[cell_region["name"], cell["promise"], cell["shortfalls"]]
            for cell_region in regions["grid"] for cell in cell_region["cells"] if cell["shortfalls"]]
    return _spec("regions", "Shortfalls by promise and region", kind="grid", head=["Region", "Promise", "Shortfalls"],
                 rows=rows, empty="No shortfalls in this period.",
                 summary=f"{regions['located']} shortfalls placed in {regions['regions']} regions; "
                         f"{regions['unlocated']} without a known location.")


def response_charts(response: dict, period: Period) -> list[dict]:
    rows = response["departments"]
    replied = [r for r in rows if r["replied"]]
    charts = [_spec(
        "reply", "First reply time by department (minutes)", unit="minutes", horizontal=True,
        labels=[r["department"] for r in replied],
        datasets=[{"label": "Median", "data": [r["median"] for r in replied], "color": PALETTE[0]},
                  {"label": "90th percentile", "data": [r["p90"] for r in replied], "color": PALETTE[1]},
                  {"label": "Median, previous period", "data": [r["prev_median"] for r in replied], "color": PREVIOUS}],
        head=["Department", "Cases", "Replied", "Median (min)", "90th percentile (min)", "Previous median (min)",
              "Previous 90th percentile (min)"],
        rows=[[r["department"], r["cases"], r["replied"], _minutes(r["median"]), _minutes(r["p90"]),
               _minutes(r["prev_median"]), _minutes(r["prev_p90"])] for r in rows],
        empty="No first replies in this period.",
        summary=(f"Overall median first reply {duration(response['median'])}, 90th percentile "
                 f"{duration(response['p90'])} (previous period: {duration(response['prev_median'])} and "
                 f"{duration(response['prev_p90'])}), of the cases created in the period. Waits are counted in "
                 f"buckets: each figure is its bucket's upper bound." if response["median"] is not None else ""),
    )]
    weeks = response["weeks"]
    charts.append(_spec(
        "reply_trend", "Median first reply by department, week by week (minutes; it should shrink)", kind="line",
        unit="minutes", labels=[_week(w) for w in weeks],
        datasets=[{"label": r["department"], "data": r["trend_median"], "color": PALETTE[i % len(PALETTE)]}
                  for i, r in enumerate(replied)],
        head=["Week of", *[f"{r['department']} median" for r in replied], *[f"{r['department']} p90" for r in replied]],
        rows=[[w.isoformat(), *[_minutes(r["trend_median"][i]) for r in replied],
               *[_minutes(r["trend_p90"][i]) for r in replied]] for i, w in enumerate(weeks)] if replied else [],
        empty="No first replies in the last 12 weeks.",
        summary="Weekly median first reply per department over the last 12 weeks.",
    ))
    sla = response["sla"]
    decided = [r for r in sla["rows"] if r["met"] + r["missed"]]
    charts.append(_spec(
        "sla", "SLA attainment by department and metric (% of clocks decided that met their target)",
        unit="percent", horizontal=True, labels=[f"{r['department']} · {r['metric_label']}" for r in decided],
        datasets=[{"label": str(period), "data": [_pct(r["attainment"]) for r in decided], "color": PALETTE[2]},
                  {"label": "Previous period", "data": [_pct(r["prev_attainment"]) for r in decided],
                   "color": PREVIOUS}],
        head=["Department", "Metric", "Met", "Missed", "Running", "Attainment %", "Previous attainment %"],
        rows=[[r["department"], r["metric_label"], r["met"], r["missed"], r["running"], _pct(r["attainment"]),
               _pct(r["prev_attainment"])] for r in sla["rows"]],
        empty="No SLA clocks in this period.",
        summary=(f"{_pct(sla['attainment'])}% of decided clocks met their target (the clocks of the cases created in "
                 f"the period)." if sla["attainment"] is not None else ""),
    ))
    levels = [1, 2, 3, 4]
    names = {1: "1 · warning", 2: "2 · breach", 3: "3 · head", 4: "4 · board"}
    charts.append(_spec(
        "escalations", "Escalations per level", labels=[names[level] for level in levels],
        datasets=[{"label": str(period), "data": [response["escalations"][lv] for lv in levels], "color": PALETTE[4]},
                  {"label": "Previous period", "data": [response["prev_escalations"][lv] for lv in levels],
                   "color": PREVIOUS}],
        head=["Level", "Escalations", "Previous period"],
        rows=[[names[lv], response["escalations"][lv], response["prev_escalations"][lv]] for lv in levels]
        if any(response["escalations"].values()) or any(response["prev_escalations"].values()) else [],
        empty="No escalations in this period.",
        summary=f"{sum(response['escalations'].values())} escalations fired in the period (each counted on the day it "
                f"fired, whenever its case was created; previous period {sum(response['prev_escalations'].values())}).",
    ))
    return charts


def handoff_chart(handoffs: dict) -> dict:
    pairs = handoffs["pairs"]
    return _spec(
        "handoffs", "Handoff flow between departments", kind="svg",
        head=["From", "To", "Handoffs", "Accepted", "Sent back", "Median acceptance (min)", "Previous period"],
        rows=[[p["from"], p["to"], p["handoffs"], p["accepted"], p["returned"], _minutes(p["median_acceptance"]),
               p["prev_handoffs"]] for p in pairs],
        empty="No handoffs in this period.", svg=sankey_svg(pairs) if any(p["handoffs"] for p in pairs) else None,
        summary=f"{handoffs['handoffs']} handoffs made in the period (previous period {handoffs['prev_handoffs']}), each "
                f"counted on the day it was made, whenever its case was created; accepted, sent back and the median "
                f"acceptance time are of those handoffs. {handoffs['notes']} feedback-up notes sent in the period.",
    )


def feedback_chart(handoffs: dict) -> dict:
    rows = handoffs["feedback"]
    return _spec(
        "feedback_up", "Feedback up the journey", horizontal=True, labels=[f"{f['from']} → {f['to']}" for f in rows],
        datasets=[{"label": "Notes", "data": [f["notes"] for f in rows], "color": PALETTE[3]},
                  {"label": "Acknowledged", "data": [f["acknowledged"] for f in rows], "color": PALETTE[2]}],
        head=["From", "To", "Notes", "Acknowledged", "Previous period"],
        rows=[[f["from"], f["to"], f["notes"], f["acknowledged"], f["prev_notes"]] for f in rows],
        empty="No feedback-up notes in this period.",
        summary=f"{handoffs['notes']} feedback-up notes sent in the period, each counted on the day it was sent "
                f"(acknowledged: of those notes).",
    )


def problem_chart(problems: dict) -> dict:
    top = problems["top"]
    return _spec(
        "problems", "Top problems by the cases they explain", horizontal=True, labels=[p["title"] for p in top],
        datasets=[{"label": "Cases in the period", "data": [p["cases"] for p in top], "color": PALETTE[0]},
                  {"label": "Previous period", "data": [p["prev_cases"] for p in top], "color": PREVIOUS}],
        head=["Problem", "Owner", "Status", "Cases", "Previous period", "Change",
              *[f"Week {i + 1}" for i in range(len(problems["weeks"]))]],
        rows=[[p["title"], p["owner"], p["status"], p["cases"], p["prev_cases"], p["change"], *p["trend"]] for p in top],
        empty="No cases linked to a problem in this period.",
    )


def volume_charts(volume: dict, period: Period) -> list[dict]:
    charts = []
    for key, title in (("intent", "Volume by intent"), ("sentiment", "Volume by sentiment"),
                       ("source", "Volume by source")):
        rows = volume[key]
        charts.append(_spec(
            f"volume_{key}", title, horizontal=key == "intent", labels=[r["label"] for r in rows],
            datasets=[{"label": str(period), "data": [r["mentions"] for r in rows], "color": PALETTE[0]},
                      {"label": "Previous period", "data": [r["prev_mentions"] for r in rows], "color": PREVIOUS}],
            head=[key.capitalize(), "Mentions", "Previous period", "Change"],
            rows=[[r["label"], r["mentions"], r["prev_mentions"], r["change"]] for r in rows],
            empty="No mentions in this period.",
        ))
    return charts


def response_promise_chart(loop: dict) -> dict:
    rows = loop["response_promises"]
    return _spec(
        "response_promises", "Response promises against actual first replies (% within the promised time)",
        unit="percent", horizontal=True, labels=[f"{r['name']} ({r['target_minutes']} min)" for r in rows],
        datasets=[{"label": "Within target", "data": [_pct(r["within"]) for r in rows], "color": PALETTE[2]},
                  {"label": "Previous period", "data": [_pct(r["prev_within"]) for r in rows], "color": PREVIOUS}],
        head=["Promise", "Department", "Target (min)", "Replies", "Within target %", "Previous %", "Median (min)"],
        rows=[[r["name"], r["department"], r["target_minutes"], r["replies"], _pct(r["within"]), _pct(r["prev_within"]),
               _minutes(r["median"])] for r in rows],
        empty="No promise names a reply time.",
    )


def loop_chart(loop: dict) -> dict:
    rows = []
    for promise in loop["promises"]:
        for problem in promise["problems"]:
            before, after = problem.get("before") or {}, problem.get("after") or {}
            rows.append([promise["name"], _gap(promise["gap"]), "problem", problem["title"], problem["owner"],
                         problem["status"], problem["cases"], _gap(before.get("gap")), before.get("mentions"),
                         _gap(after.get("gap")), after.get("mentions")])
        for note in promise["notes"]:
            rows.append([promise["name"], _gap(promise["gap"]), "feedback up", f"{note['from']} → {note['to']}",
                         note["to"], f"{note['acknowledged']} acknowledged", note["notes"], None, None, None, None])
        if not promise["addressed"]:
            rows.append([promise["name"], _gap(promise["gap"]), "nothing yet", None, None, None, None, None, None, None,
                         None])
    return _spec("loop", "Closing the loop", kind="table",
                 head=["Promise", "Gap index", "Action", "What", "Owner", "Status", "Cases or notes",
                       "Gap before", "Mentions before", "Gap after", "Mentions after"],
                 rows=rows, empty="No promise has a gap in this period.")


def all_charts(data: dict) -> dict[str, dict]:
    period = data["period"]
    charts = [*gap_charts(data["gap"], period), region_chart(data["regions"]),
              *response_charts(data["response"], period), handoff_chart(data["handoffs"]),
              feedback_chart(data["handoffs"]), problem_chart(data["problems"]),
              *volume_charts(data["volume"], period), response_promise_chart(data["loop"]), loop_chart(data["loop"])]
    return {chart["id"]: chart for chart in charts}


# --- Server-rendered SVG: the handoff Sankey diagram ----------------------------------------------


def sankey_svg(pairs: list[dict], *, width: int = 640, height: int = 320) -> str:
    """A two-column Sankey diagram (senders left, receivers right), bands as wide as the handoffs,
    each with a <title> (its numbers on hover) and a label. Colours come from CSS classes."""
    pairs = [p for p in pairs if p["handoffs"]]
    total = sum(p["handoffs"] for p in pairs)
    senders, receivers = {}, {}
    for p in pairs:
        senders[p["from"]] = senders.get(p["from"], 0) + p["handoffs"]
        receivers[p["to"]] = receivers.get(p["to"], 0) + p["handoffs"]
    gap, top, node_w = 8, 10, 14
    # Room for the longest label ("Customer service (24)") at 11px, about 6.5px a character.
    label_w = max(90, round(6.5 * max((len(f"{name} ({n})") for name, n in [*senders.items(), *receivers.items()]),
                                      default=0)) + 10)
    usable = height - 2 * top - gap * max(len(senders), len(receivers))
    scale = usable / total if total else 0

    def layout(nodes):
        y, placed = top, {}
        for name, n in sorted(nodes.items(), key=lambda kv: (-kv[1], kv[0])):
            placed[name] = [y, n * scale, y]  # top, height, next free y for bands
            y += n * scale + gap
        return placed

    left, right = layout(senders), layout(receivers)
    x0, x1 = label_w, width - label_w
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="sankey" role="img" '
             f'aria-labelledby="sankey-title"><title id="sankey-title">Handoff flow: {total} handoffs between '
             f'departments</title>']
    for i, p in enumerate(sorted(pairs, key=lambda p: (-p["handoffs"], p["from"], p["to"]))):
        band = p["handoffs"] * scale
        ya, yb = left[p["from"]][2], right[p["to"]][2]
        left[p["from"]][2] += band
        right[p["to"]][2] += band
        mid = (x0 + node_w + x1) / 2
        path = (f"M{x0 + node_w},{ya:.1f} C{mid},{ya:.1f} {mid},{yb:.1f} {x1},{yb:.1f} "
                f"L{x1},{yb + band:.1f} C{mid},{yb + band:.1f} {mid},{ya + band:.1f} {x0 + node_w},{ya + band:.1f} Z")
        median = f", median acceptance {p['median_acceptance']:g} min" if p["median_acceptance"] is not None else ""
        parts.append(f'<path d="{path}" class="band band-{i % 8}" tabindex="0"><title>{escape(p["from"])} → '
                     f'{escape(p["to"])}: {p["handoffs"]} handoffs, {p["accepted"]} accepted, {p["returned"]} sent '
                     f'back{median}</title></path>')
    for name, (y, h, _) in left.items():
        parts.append(f'<rect x="{x0}" y="{y:.1f}" width="{node_w}" height="{max(h, 1):.1f}" class="node">'
                     f'<title>{escape(name)} sent {senders[name]}</title></rect>'
                     f'<text x="{x0 - 6}" y="{y + h / 2:.1f}" class="label end">{escape(name)} ({senders[name]})</text>')
    for name, (y, h, _) in right.items():
        parts.append(f'<rect x="{x1}" y="{y:.1f}" width="{node_w}" height="{max(h, 1):.1f}" class="node">'
                     f'<title>{escape(name)} received {receivers[name]}</title></rect>'
                     f'<text x="{x1 + node_w + 6}" y="{y + h / 2:.1f}" class="label">{escape(name)} '
                     f'({receivers[name]})</text>')
    parts.append("</svg>")
    return "".join(parts)


def csv_rows(chart: dict) -> list[list]:
    """The rows of a chart's CSV export: its header, then its table."""
    return [chart["head"], *[["" if value is None else value for value in row] for row in chart["rows"]]]
