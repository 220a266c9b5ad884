// Board charts: data comes from json_script tags rendered by the server.
(function () {
  function read(id) { return JSON.parse(document.getElementById(id).textContent); }
  function bar(canvasId, labels, datasets, horizontal) {
    const el = document.getElementById(canvasId);
    if (!el || !window.Chart) return;
    el.dataset.rendered = "1";
    new Chart(el, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x", responsive: true, animation: false,
        plugins: { legend: { display: datasets.length > 1 } },
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
      },
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    const intent = read("data-intent");
    bar("chart-intent", Object.keys(intent), [{ label: "mentions", data: Object.values(intent), backgroundColor: "#3b6ea5" }], true);
    const dept = read("data-department");
    bar("chart-department", dept.map(d => d["department__name"]), [
      { label: "open", data: dept.map(d => d.open), backgroundColor: "#d9822b" },
      { label: "closed or resolved", data: dept.map(d => d.total - d.open), backgroundColor: "#5a9a5a" },
    ], false);
    const reply = read("data-reply");
    bar("chart-reply", Object.keys(reply), [{ label: "minutes", data: Object.values(reply), backgroundColor: "#7a5aa5" }], true);
  });
})();
