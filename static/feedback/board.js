// Board charts: data comes from json_script tags rendered by the server; Chart.js 4 draws them.
// Each canvas gets data-rendered="1" once its chart exists (the browser tests wait for it).
(function () {
  const COLORS = { blue: "#3b6ea5", orange: "#d9822b", green: "#2d7d46", purple: "#7a5aa5" };

  function read(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function label(key) {
    const text = String(key).replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function minutes(value) {
    if (value < 60) return Math.round(value) + " min";
    const h = Math.floor(value / 60), m = Math.round(value % 60);
    return h + " h " + (m < 10 ? "0" : "") + m + " min";
  }

  function bar(canvasId, labels, datasets, opts) {
    const el = document.getElementById(canvasId);
    if (!el || !window.Chart) return;
    opts = opts || {};
    const valueAxis = opts.horizontal ? "x" : "y";
    const scales = {
      x: { stacked: !!opts.stacked, grid: { display: !!opts.horizontal } },
      y: { stacked: !!opts.stacked, grid: { display: !opts.horizontal } },
    };
    scales[valueAxis].beginAtZero = true;
    scales[valueAxis].ticks = { precision: 0 };
    if (opts.valueTitle) scales[valueAxis].title = { display: true, text: opts.valueTitle };
    new Chart(el, {
      type: "bar",
      data: { labels: labels, datasets: datasets.map((d) => Object.assign({ maxBarThickness: 56, borderRadius: 3 }, d)) },
      options: {
        indexAxis: opts.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: datasets.length > 1, position: "bottom" },
          tooltip: opts.format ? { callbacks: { label: (ctx) => ctx.dataset.label + ": " + opts.format(ctx.raw) } } : {},
        },
        scales: scales,
      },
    });
    el.dataset.rendered = "1";
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.Chart) {
      Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      Chart.defaults.color = "#5f6b7a";
    }
    const intent = read("data-intent") || {};
    bar("chart-intent", Object.keys(intent).map(label),
      [{ label: "Mentions", data: Object.values(intent), backgroundColor: COLORS.blue }],
      { horizontal: true });

    const departments = read("data-department") || [];
    bar("chart-department", departments.map((d) => d["department__name"]), [
      { label: "Open", data: departments.map((d) => d.open), backgroundColor: COLORS.orange },
      { label: "Resolved or closed", data: departments.map((d) => d.total - d.open), backgroundColor: COLORS.green },
    ], { horizontal: true, stacked: true, valueTitle: "cases" });

    const reply = read("data-reply") || {};
    bar("chart-reply", Object.keys(reply),
      [{ label: "Median first reply", data: Object.values(reply), backgroundColor: COLORS.purple }],
      { horizontal: true, valueTitle: "minutes", format: minutes });
  });
})();
