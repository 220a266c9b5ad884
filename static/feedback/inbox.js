// The inbox's keyboard shortcuts, the bulk form and the periodic refresh (htmx polls #inbox-rows).
// j/k move, o or Enter opens, x ticks, e resolves, a assigns (an agent: takes), / searches, ? shows the help.
// A refresh keeps the current row and the ticked boxes: they are remembered by case id and put
// back after each swap. Kept out of the templates: the Content-Security-Policy forbids inline scripts.
(function () {
  "use strict";
  let current = null; // the case id of the current row
  let ticked = new Set();

  const rows = () => Array.from(document.querySelectorAll("#inbox-rows tr[data-case]"));
  const bulk = () => document.getElementById("bulk-form");

  function setCurrent(row, scroll) {
    rows().forEach((r) => { r.classList.remove("current"); r.removeAttribute("aria-current"); });
    if (!row) { current = null; return; }
    row.classList.add("current");
    row.setAttribute("aria-current", "true");
    current = row.dataset.case;
    if (scroll) {
      row.scrollIntoView({ block: "nearest" });
      const link = row.querySelector("a.case-link");
      if (link) link.focus({ preventScroll: true });
    }
  }

  function currentRow() {
    return rows().find((r) => r.dataset.case === current) || null;
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(currentRow());
    const next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    setCurrent(all[next], true);
  }

  function boxes() {
    return Array.from(document.querySelectorAll('#inbox-rows input[name="case"]'));
  }

  function remember() {
    ticked = new Set(boxes().filter((b) => b.checked).map((b) => b.value));
    const count = document.getElementById("bulk-count");
    if (count) count.textContent = ticked.size ? ticked.size + " ticked" : "No case ticked";
  }

  function restore() {
    boxes().forEach((b) => { b.checked = ticked.has(b.value); });
    setCurrent(currentRow(), false);
    remember();
  }

  function tickCurrentIfNone() {
    if (ticked.size === 0 && currentRow()) {
      const box = currentRow().querySelector('input[name="case"]');
      if (box) { box.checked = true; remember(); }
    }
    return ticked.size > 0;
  }

  function chooseAction(action) {
    const form = bulk();
    if (!form) return null;
    const select = form.querySelector('select[name="action"]');
    select.value = action;
    form.dataset.action = action;
    return form;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches('#inbox-rows input[name="case"]')) remember();
    if (event.target.id === "tick-all") {
      boxes().forEach((b) => { b.checked = event.target.checked; });
      remember();
    }
    if (event.target.matches('#bulk-form select[name="action"]')) bulk().dataset.action = event.target.value;
  });

  document.addEventListener("click", function (event) {
    const row = event.target.closest("#inbox-rows tr[data-case]");
    if (row) setCurrent(row, false);
  });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const typing = target.closest("input, textarea, select, [contenteditable]") && target.type !== "checkbox";
    if (event.key === "Escape" && typing) { target.blur(); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    // Enter on a link, button or menu does what it says there (a focused case link opens its own case anyway).
    if (event.key === "Enter" && target.closest("a, button, summary, [role='button']")) return;
    const help = document.getElementById("shortcuts");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o": case "Enter": {
        const row = currentRow();
        if (!row) return;
        window.location.href = row.dataset.url;
        break;
      }
      case "x": {
        const row = currentRow();
        const box = row && row.querySelector('input[name="case"]');
        if (box) { box.checked = !box.checked; remember(); }
        break;
      }
      case "e": {
        if (!tickCurrentIfNone()) return;
        const form = chooseAction("resolve");
        if (form && window.confirm("Resolve " + ticked.size + " case(s)?")) form.requestSubmit();
        break;
      }
      case "a": {
        if (!tickCurrentIfNone()) return;
        const form = bulk();
        if (form && form.dataset.mayAssign) {
          chooseAction("assign");
          form.querySelector('select[name="assignee"]').focus();
        } else if (form && window.confirm("Take " + ticked.size + " case(s)?")) {
          // Only a lead or head assigns cases to others: an agent's "a" takes them.
          chooseAction("take");
          form.requestSubmit();
        }
        break;
      }
      case "/": {
        const search = document.getElementById("id_q");
        if (search) search.focus();
        break;
      }
      case "?":
        if (help && !help.open) help.showModal();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // Filters change the address (hx-push-url) without reloading: the forms that remember where the
  // user is (saving the view, coming back after a bulk action) read it when they are sent.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const here = window.location.pathname + window.location.search;
    if (form.matches(".save-view")) form.querySelector('input[name="query"]').value = window.location.search.slice(1);
    if (form.id === "bulk-form") form.querySelector('input[name="next"]').value = here;
  }, true);

  // The refresh (and a filter change) replaces the rows: put the selection back once htmx has
  // settled them (settling resets each row's class to the server's, which would drop "current").
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "inbox-rows") restore();
  });
  // A filter change starts from a clean selection; the periodic refresh keeps it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "inbox-filters") { ticked = new Set(); current = null; }
  });

  document.addEventListener("DOMContentLoaded", function () {
    const form = bulk();
    if (form) form.dataset.action = form.querySelector('select[name="action"]').value;
    const first = rows()[0];
    if (first) setCurrent(first, false);
    remember();
  });
})();
