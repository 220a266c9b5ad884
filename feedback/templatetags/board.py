"""Formatting the board's figures: signed changes, shares, minutes."""

from django import template

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
    if value is None or value == "":
        return "—"
    value = float(value)
    if value < 60:
        return f"{value:g} min"
    if value < 1440:
        hours, rest = divmod(int(round(value)), 60)
        return f"{hours} h {rest:02d} min"
    days, rest = divmod(int(round(value)), 1440)
    return f"{days} d {rest // 60} h"


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
