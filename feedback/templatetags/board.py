"""Formatting the board's figures: signed changes, shares, minutes."""

from django import template

from feedback.board.charts import duration

register = template.Library()


@register.filter
def signed(value, digits: int = 0) -> str:
    """+3, −0.12, 0; an em dash for no figure."""
    if value is None or value == "":
        return "—"
    number = round(float(value), int(digits))
    if number == 0:
        return "0"
    text = f"{abs(number):.{int(digits)}f}"
    return f"+{text}" if number > 0 else f"−{text}"


@register.filter
def pct(value, digits: int = 0) -> str:
    if value is None or value == "":
        return "—"
    return f"{100 * float(value):.{int(digits)}f}%"


@register.filter
def minutes(value) -> str:
    """42 min, 2 h 05 min, 3 d 4 h; an em dash for none."""
    return duration(value)


@register.filter
def gap(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):+.2f}"


@register.filter
def direction(value, better: str = "down") -> str:
    """A CSS class for a change: "better", "worse" or "same" (`better`: which way is good)."""
    if value is None or value == "" or float(value) == 0:
        return "same"
    up = float(value) > 0
    return "better" if up == (better == "up") else "worse"
