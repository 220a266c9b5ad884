"""The case page's label panel of a mention: `{% mention_labels mention case clocks open %}`."""

from django import template

from feedback.understanding.selectors import mention_panel, promise_choices

register = template.Library()


@register.inclusion_tag("feedback/partials/_mention_labels.html", takes_context=True)
def mention_labels(context, mention, case=None, clocks=None, open=False):
    cache = context.render_context
    if "understanding_promise_choices" not in cache:  # one query per page, whatever the number of posts
        cache["understanding_promise_choices"] = promise_choices()
    return {
        **mention_panel(mention=mention, case=case, clocks=clocks, promises=cache["understanding_promise_choices"]),
        "open": open,
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }


@register.inclusion_tag("feedback/partials/_mention_chips.html")
def mention_chips(mention):
    return {"mention": mention}
