"""The portal's look in Chromium at a 1280 px laptop and a 768 px tablet: the top bar on one line at 1280 (even an
admin who heads a department, with every link), the inbox, the case page, the composer and the settings without
sideways scrolling, the user menu by keyboard, the pause sign drawn (not a glyph fonts lack). Screenshots of each
go to tests/artifacts/ (ignored by git) on every run."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.choices import CaseStatus, ClockMetric
from feedback.sla import clocks as sla
from teams.models import Role
from tests.browser.conftest import PASSWORD, log_in
from tests.factories import (
    CaseFactory,
    CustomerFactory,
    MembershipFactory,
    MentionFactory,
    SlaClockFactory,
    UserFactory,
    department,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WIDTHS = (1280, 768)


@pytest.fixture
def world():
    now = timezone.now()
    admin = UserFactory(username="ada", password=PASSWORD, first_name="Ada", last_name="Lovelace-Administrator",
                        is_superuser=True, is_staff=True)
    for slug in ("service", "after-sales"):
        MembershipFactory(user=admin, department=department(slug), role=Role.HEAD)
    agent = MembershipFactory(user=UserFactory(username="dana", password=PASSWORD, first_name="Dana",
                                               last_name="Ortiz"), department=department("service")).user
    cases = []
    for i, (status, due_in) in enumerate([(CaseStatus.OPEN, timedelta(minutes=-50)),
                                          (CaseStatus.PENDING, None), (CaseStatus.OPEN, timedelta(hours=3))]):
        case = CaseFactory(customer=CustomerFactory(name=f"Customer With A Rather Long Name {i}"), status=status,
                           subject="@airline see https://example.com/" + "a-very-long-path-segment" * 6,
                           assignee=agent, escalation_level=2 if i == 0 else 0, created_at=now - timedelta(hours=5))
        MentionFactory(case=case, customer=case.customer, source="x", text=case.subject,
                       posted_at=now - timedelta(hours=5))
        if due_in is not None:
            SlaClockFactory(case=case, metric=ClockMetric.FIRST_REPLY, due_at=now + due_in,
                            warn_at=now + due_in - timedelta(hours=1), started_at=now - timedelta(hours=5))
        else:
            SlaClockFactory(case=case, metric=ClockMetric.FIRST_REPLY, due_at=now + timedelta(hours=1),
                            warn_at=now, started_at=now - timedelta(hours=5), paused_at=now, remaining_minutes=60)
        sla.refresh_next_due(case_ids=[case.pk])
        cases.append(case)
    return {"cases": cases}


def _fits(page, width: int) -> None:
    wide = page.evaluate(f"""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {width} + 1)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 10)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
    overflow = page.evaluate("""[...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > w.clientWidth)
        .map(w => [w.scrollWidth, w.clientWidth])""")
    assert overflow == [], f"a table scrolls sideways at {width} px: {overflow}"


# Every element's own text against the background it sits on (the first opaque one above it), with the opacity on
# the way: below 4.5:1 (3:1 for large text) is listed. WCAG 2's formula.
LOW_CONTRAST = """() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(parseFloat); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const under = el => { let opacity = 1;
    for (let e = el; e; e = e.parentElement) { const st = getComputedStyle(e); opacity *= parseFloat(st.opacity);
      const c = parse(st.backgroundColor); if (c && c[3] > 0.5) return [c, opacity]; }
    return [[255, 255, 255, 1], opacity]; };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const rect = el.getBoundingClientRect(), st = getComputedStyle(el);
    if (!rect.width || !rect.height || st.visibility === 'hidden' || el.closest('.visually-hidden')) continue;
    const [bg, opacity] = under(el), fg = parse(st.color), a = fg[3] * opacity;
    const seen = [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a));
    const [l1, l2] = [lum(seen), lum(bg)].sort((x, y) => y - x), ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(st.fontSize), large = size >= 24 || (parseInt(st.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) low.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def _top_bar_lines(page) -> int:
    """How many lines the top bar's links and buttons take (their tops, grouped within a few pixels)."""
    tops = page.evaluate("""[...document.querySelectorAll(
        'header.topbar .brand, header.topbar nav a, header.topbar .who > a, header.topbar summary')]
        .map(e => Math.round(e.getBoundingClientRect().top))""")
    lines = []
    for top in sorted(tops):
        if not lines or top - lines[-1] > 8:
            lines.append(top)
    return len(lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_pages_fit_and_the_top_bar_holds_every_link(browser, live_server, world, js_errors, width):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    context.set_default_timeout(5_000)
    page = context.new_page()
    page.on("pageerror", lambda exc: js_errors.append(f"pageerror: {exc}"))
    try:
        log_in(page, "ada")
        page.goto("/inbox/")
        nav = page.get_by_role("navigation", name="Main")
        for link in ("Inbox", "Incoming", "Feedback", "Problems", "Customers", "Approvals", "Promises", "Board",
                     "Routing", "Audit log"):
            expect(nav.get_by_role("link", name=link, exact=True)).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"layout-inbox-{width}.png")
        assert page.evaluate(LOW_CONTRAST) == [], "text under WCAG AA contrast"
        if width == 1280:
            assert _top_bar_lines(page) == 1, "the top bar wraps at 1280 px"
            assert page.locator("header.topbar").bounding_box()["height"] < 60
        _fits(page, width)
        # The pause sign is drawn (an SVG), in the legend and on the pending case's clock, with its word beside it.
        legend = page.locator(".legend .clock.paused")
        expect(legend.locator("svg.icon")).to_have_count(1)
        expect(legend).to_have_text("paused (waiting on the customer)")
        paused_row = page.locator(f"#case-{world['cases'][1].pk} .clock.paused")
        expect(paused_row.locator("svg.icon")).to_have_count(1)
        expect(paused_row).to_contain_text("paused, 1h 00m left")

        page.goto(f"/cases/{world['cases'][0].pk}/")
        _fits(page, width)
        assert page.evaluate(LOW_CONTRAST) == [], "text under WCAG AA contrast"
        page.screenshot(path=ARTIFACTS / f"layout-case-{width}.png")
        page.locator("#reply").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / f"layout-composer-{width}.png")

        page.goto("/settings/")
        _fits(page, width)
        page.screenshot(path=ARTIFACTS / f"layout-settings-{width}.png", full_page=True)
    finally:
        context.close()
    assert js_errors == []


def test_the_user_menu_opens_and_closes_by_keyboard(page, live_server, world, js_errors):
    log_in(page, "dana")
    menu = page.locator("details.user-menu")
    summary = menu.locator("summary")
    expect(summary).to_have_text("Dana Ortiz")
    expect(page.get_by_role("link", name="Change password")).to_be_hidden()
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "layout-user-menu.png")
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Change password")).to_be_hidden()
    expect(summary).to_be_focused()
    # Away from the menu, then back: the state shows beside the name.
    summary.click()
    page.get_by_role("button", name="Mark me away").click()
    expect(summary).to_contain_text("Away")
    summary.click()
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    assert js_errors == []
