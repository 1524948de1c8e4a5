// The production reports' behaviour: the yield chart (a line per figure, one point per day),
// the scrap Pareto (bars by reason, largest first, and the cumulative percentage as a line on
// a second axis), and the certificate's Print button. The figures come in each chart's
// data-chart attribute, the same numbers the tables beside it show; nothing else is fetched.
"use strict";

(function () {
  const charts = [];
  const PERCENT = (value) => (value === null || value === undefined ? "–" : `${value.toFixed(2)} %`);

  function data(box) {
    try {
      return JSON.parse(box.dataset.chart || "{}");
    } catch (_) {
      return {};
    }
  }

  function asPercent(values) {
    return (values || []).map((value) => (value === null ? null : Math.round(value * 10000) / 100));
  }

  function yieldChart(box) {
    const figures = data(box);
    const keys = ["fpy", "rty", "scrap_rate", "reprint_rate"];
    const chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: ["#0b5394", "#14532d", "#a1231b", "#b45309"],
      tooltip: { trigger: "axis", valueFormatter: PERCENT },
      legend: { top: 0, type: "scroll" },
      grid: { left: 56, right: 24, top: 40, bottom: 32 },
      xAxis: { type: "category", data: figures.days || [], boundaryGap: false },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
      series: keys
        .filter((key) => figures[key])
        .map((key) => ({
          name: figures[key].name,
          type: "line",
          connectNulls: true,
          showSymbol: (figures.days || []).length < 40,
          data: asPercent(figures[key].data),
        })),
    });
    return chart;
  }

  function paretoChart(box) {
    const pareto = data(box);
    const labels = pareto.labels || {};
    const chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: ["#a1231b", "#0b5394"],
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 56, right: 56, top: 40, bottom: 48 },
      xAxis: {
        type: "category",
        data: pareto.reasons || [],
        axisLabel: { interval: 0, rotate: (pareto.reasons || []).length > 6 ? 30 : 0 },
      },
      yAxis: [
        { type: "value", min: 0, name: labels.qty || "" },
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
      ],
      series: [
        { name: labels.qty || "", type: "bar", data: pareto.qty || [], barMaxWidth: 64 },
        {
          name: labels.cumulative || "",
          type: "line",
          yAxisIndex: 1,
          data: pareto.cumulative || [],
          tooltip: { valueFormatter: PERCENT },
        },
      ],
    });
    return chart;
  }

  function drawCharts() {
    if (!window.echarts) return;
    const yieldBox = document.getElementById("yield-chart");
    const paretoBox = document.getElementById("pareto-chart");
    if (yieldBox) charts.push(yieldChart(yieldBox));
    if (paretoBox) charts.push(paretoChart(paretoBox));
    document.body.dataset.chartsDrawn = String(charts.length);
  }

  function printButton() {
    const button = document.getElementById("print-coc");
    if (button) button.addEventListener("click", () => window.print());
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawCharts();
    printButton();
  });
  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
  // Printing (the certificate, or a report page): the charts fit the paper's width.
  window.addEventListener("beforeprint", () => charts.forEach((chart) => chart.resize()));
})();
