// The OEE and downtime pages' behaviour: the OEE chart (a group of bars per line, shift or day:
// availability, performance, quality and OEE in percent), the downtime Pareto (a bar per reason
// in the reason's colour, largest first, and the cumulative percentage as a line on a second
// axis), and the trend (planned and unplanned minutes per day or week, stacked). The figures
// come in each chart's data-chart attribute, the numbers the tables beside it show; nothing
// else is fetched. Choosing another facility clears the line, which belongs to the old one.
"use strict";

(function () {
  const charts = [];
  const language = document.documentElement.lang || "en";
  const oneDecimal = new Intl.NumberFormat(language, {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const PERCENT = (value) =>
    value === null || value === undefined ? "–" : `${oneDecimal.format(Number(value))} %`;
  const MINUTES = (value) =>
    value === null || value === undefined ? "–" : `${oneDecimal.format(Number(value))} min`;

  function data(box) {
    try {
      return JSON.parse(box.dataset.chart || "{}");
    } catch (_) {
      return {};
    }
  }

  function draw(box, option) {
    const chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({ animation: false, ...option });
    charts.push(chart);
  }

  function oeeChart(box) {
    const figures = data(box);
    const groups = figures.groups || [];
    draw(box, {
      color: ["#0b5394", "#b45309", "#14532d", "#1b1f24"],
      tooltip: { trigger: "axis", valueFormatter: PERCENT },
      legend: { top: 0 },
      grid: { left: 56, right: 24, top: 40, bottom: 56 },
      xAxis: {
        type: "category",
        data: groups,
        axisLabel: { interval: 0, rotate: groups.length > 8 ? 30 : 0 },
      },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
      series: (figures.series || []).map((series) => ({
        name: series.name,
        type: "bar",
        barMaxWidth: 32,
        data: series.data,
      })),
    });
  }

  function paretoChart(box) {
    const pareto = data(box);
    const labels = pareto.labels || {};
    const reasons = pareto.reasons || [];
    draw(box, {
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: [labels.minutes || "", labels.cumulative || ""] },
      grid: { left: 64, right: 64, top: 40, bottom: 64 },
      xAxis: {
        type: "category",
        data: reasons,
        axisLabel: { interval: 0, rotate: reasons.length > 6 ? 30 : 0 },
      },
      yAxis: [
        { type: "value", min: 0, name: labels.minutes || "" },
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
      ],
      series: [
        {
          name: labels.minutes || "",
          type: "bar",
          barMaxWidth: 64,
          itemStyle: { color: "#9e9e9e" },
          tooltip: { valueFormatter: MINUTES },
          data: (pareto.minutes || []).map((bar) => ({
            value: bar.value,
            itemStyle: { color: bar.color },
          })),
        },
        {
          name: labels.cumulative || "",
          type: "line",
          yAxisIndex: 1,
          color: "#1b1f24",
          data: pareto.cumulative || [],
          tooltip: { valueFormatter: PERCENT },
        },
      ],
    });
  }

  function trendChart(box) {
    const trend = data(box);
    const labels = trend.labels || {};
    const buckets = trend.buckets || [];
    draw(box, {
      color: ["#0b5394", "#a1231b"],
      tooltip: { trigger: "axis", valueFormatter: MINUTES },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 40, bottom: 48 },
      xAxis: { type: "category", data: buckets },
      yAxis: { type: "value", min: 0, name: labels.minutes || "" },
      series: [
        {
          name: labels.planned || "",
          type: "bar",
          stack: "downtime",
          barMaxWidth: 48,
          data: trend.planned || [],
        },
        {
          name: labels.unplanned || "",
          type: "bar",
          stack: "downtime",
          barMaxWidth: 48,
          data: trend.unplanned || [],
        },
      ],
    });
  }

  function drawCharts() {
    if (!window.echarts) return;
    const makers = { "oee-chart": oeeChart, "pareto-chart": paretoChart, "trend-chart": trendChart };
    Object.entries(makers).forEach(([id, make]) => {
      const box = document.getElementById(id);
      if (box) make(box);
    });
    document.body.dataset.chartsDrawn = String(charts.length);
  }

  function facilityClearsLine() {
    const facility = document.querySelector("select[data-facility]");
    const line = document.querySelector("select[data-line]");
    if (!facility || !line) return;
    facility.addEventListener("change", () => {
      line.value = "";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawCharts();
    facilityClearsLine();
  });
  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
  window.addEventListener("beforeprint", () => charts.forEach((chart) => chart.resize()));
})();
