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
      return m ? h + " h " + (m < 10 ? "0" : "") + m + " min" : h + " h";
    }
    const d = Math.floor(value / 1440), h = Math.round((value % 1440) / 60);
    return h ? d + " d " + h + " h" : d + " d";
  }

  const FORMATS = {
    count: (v) => (v === null ? "—" : String(v)),
    minutes: minutes,
    percent: (v) => (v === null ? "—" : v + "%"),
    gap: (v) => (v === null ? "—" : (v > 0 ? "+" : "") + Number(v).toFixed(2)),
  };

  // Minute axes step by durations people read (15 min, 1 h, 4 h, 1 d...), not by 500 minutes.
  const MINUTE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 2880, 4320, 10080, 20160, 43200];

  function minuteStep(datasets) {
    const values = datasets.flatMap((d) => d.data).filter((v) => v !== null && v !== undefined);
    const highest = values.length ? Math.max(...values) : 0;
    return MINUTE_STEPS.find((step) => highest / step <= 6) || MINUTE_STEPS[MINUTE_STEPS.length - 1];
  }

  function draw(canvas) {
    const spec = read("data-" + canvas.dataset.chart);
    if (!spec || !window.Chart) return;
    const format = FORMATS[spec.unit] || FORMATS.count;
    const horizontal = !!spec.horizontal;
    const valueAxis = horizontal ? "x" : "y";
    const categoryAxis = horizontal ? "y" : "x";
    const scales = { x: { grid: { display: horizontal } }, y: { grid: { display: !horizontal } } };
    scales[valueAxis].ticks = { callback: (v) => format(v) };
    if (spec.unit === "minutes") scales[valueAxis].ticks.stepSize = minuteStep(spec.datasets);
    if (spec.unit === "gap") { scales[valueAxis].min = -1; scales[valueAxis].max = 1; }
    else if (spec.unit === "percent") { scales[valueAxis].min = 0; scales[valueAxis].max = 100; }
    else scales[valueAxis].beginAtZero = true;
    let labels = spec.labels;
    if (horizontal) {
      // Every bar keeps its label: "Department · Metric" on two lines, and the chart as tall as its bars need.
      scales[categoryAxis].ticks = { autoSkip: false };
      labels = labels.map((label) => (typeof label === "string" && label.includes(" · ") ? label.split(" · ") : label));
      const perBar = 16 + 10 * spec.datasets.length;
      canvas.parentElement.style.height = Math.max(140, 70 + perBar * labels.length) + "px";
    }
    // A series with no figure at all (no previous period) takes no room beside the bars that have one.
    const datasets = spec.datasets.filter((d) => d.data.some((v) => v !== null && v !== undefined));
    const line = spec.kind === "line";
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: {
        labels: labels,
        datasets: datasets.map((d, i) => ({
          label: d.label, data: d.data, backgroundColor: d.color, borderColor: d.color,
          // Straight segments between weeks: a curve would show values no week had.
          maxBarThickness: 40, borderRadius: line ? 0 : 3, spanGaps: true, tension: 0,
          minBarLength: spec.unit === "percent" ? 3 : 0,  // 0% met is a sliver, not nothing
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
          // Lines: the legend shows each line's point mark (a dashed line drawn as a box is hard to read).
          legend: { display: datasets.length > 1, position: "bottom", labels: { usePointStyle: line } },
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
