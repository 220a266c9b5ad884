// Board charts: every <canvas data-chart="ID"> is drawn from the JSON the server rendered in
// <script id="data-ID" type="application/json"> (feedback/board/charts.py: labels, datasets, unit).
// Numbers show on hover (tooltips) and in each chart's data table; each canvas gets data-rendered="1"
// once its chart exists (the browser tests wait for it).
(function () {
  function read(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function minutes(value) {
    if (value === null || value === undefined) return "—";
    if (value < 60) return Math.round(value * 10) / 10 + " min";
    if (value < 1440) {
      const h = Math.floor(value / 60), m = Math.round(value % 60);
      return h + " h " + (m < 10 ? "0" : "") + m + " min";
    }
    return Math.floor(value / 1440) + " d " + Math.round((value % 1440) / 60) + " h";
  }

  const FORMATS = {
    count: (v) => (v === null ? "—" : String(v)),
    minutes: minutes,
    percent: (v) => (v === null ? "—" : v + "%"),
    gap: (v) => (v === null ? "—" : (v > 0 ? "+" : "") + Number(v).toFixed(2)),
  };

  function draw(canvas) {
    const spec = read("data-" + canvas.dataset.chart);
    if (!spec || !window.Chart) return;
    const format = FORMATS[spec.unit] || FORMATS.count;
    const horizontal = !!spec.horizontal;
    const valueAxis = horizontal ? "x" : "y";
    const scales = { x: { grid: { display: horizontal } }, y: { grid: { display: !horizontal } } };
    scales[valueAxis].ticks = { callback: (v) => format(v) };
    if (spec.unit === "gap") { scales[valueAxis].min = -1; scales[valueAxis].max = 1; }
    else if (spec.unit === "percent") { scales[valueAxis].min = 0; scales[valueAxis].max = 100; }
    else scales[valueAxis].beginAtZero = true;
    const line = spec.kind === "line";
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d, i) => ({
          label: d.label, data: d.data, backgroundColor: d.color, borderColor: d.color,
          maxBarThickness: 40, borderRadius: line ? 0 : 3, spanGaps: true, tension: 0.2,
          pointStyle: ["circle", "rect", "triangle", "rectRot", "star", "crossRot"][i % 6], pointRadius: line ? 3 : 0,
          borderDash: line && i % 2 ? [6, 3] : [],
        })),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: !line },
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom" },
          tooltip: { callbacks: { label: (ctx) => ctx.dataset.label + ": " + format(ctx.raw) } },
        },
        scales: scales,
      },
    });
    canvas.dataset.rendered = "1";
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.Chart) {
      Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      Chart.defaults.color = "#5f6b7a";
    }
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
  window.addEventListener("beforeprint", function () {
    if (!window.Chart) return;
    Object.values(Chart.instances || {}).forEach((chart) => chart.resize());
  });
})();
