// The ops dashboard's chart: requests per second of every service, one point per refresh.
// The figures come with each refresh of #ops-figures (data-chart-point); nothing else is fetched.
"use strict";

(function () {
  const MAX_POINTS = 120;
  const series = new Map();
  let chart = null;
  let lastAt = null;

  function addPoint() {
    const figures = document.getElementById("ops-figures");
    const box = document.getElementById("rate-chart");
    if (!figures || !box || !window.echarts) return;
    const point = JSON.parse(figures.dataset.chartPoint || "{}");
    if (!point.at || point.at === lastAt) return;
    lastAt = point.at;
    const at = new Date(point.at);
    for (const [service, rate] of Object.entries(point.rates || {})) {
      if (!series.has(service)) series.set(service, []);
      const data = series.get(service);
      data.push([at, rate]);
      if (data.length > MAX_POINTS) data.shift();
    }
    if (!chart) chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll" },
      xAxis: { type: "time" },
      yAxis: { type: "value", min: 0 },
      series: [...series.entries()].map(([name, data]) => ({ name, type: "line", showSymbol: false, data })),
    });
  }

  document.addEventListener("DOMContentLoaded", addPoint);
  document.addEventListener("htmx:afterSettle", addPoint);
  window.addEventListener("resize", () => chart && chart.resize());
})();
