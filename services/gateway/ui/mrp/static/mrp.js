// The MRP pages' behaviour: the shipment forecast's chart (Likely to Ship and At-Risk/Partial
// values stacked per due month, from the figures the table shows, passed in the chart's
// data-chart attribute); tooltips (a component's, a score's) placed in the window beside what
// they describe, so the table's scrolling box does not cut them, and closed with Escape.
"use strict";

(function () {
  const charts = [];
  const language = document.documentElement.lang || "en";
  const money = new Intl.NumberFormat(language, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function forecastChart(box) {
    let figures = {};
    try {
      figures = JSON.parse(box.dataset.chart || "{}");
    } catch (_) {
      return;
    }
    const labels = figures.labels || {};
    const chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: ["#14532d", "#a1231b"],
      tooltip: { trigger: "axis", valueFormatter: (value) => money.format(Number(value)) },
      legend: { top: 0 },
      grid: { left: 88, right: 24, top: 40, bottom: 48 },
      xAxis: { type: "category", data: figures.months || [] },
      yAxis: { type: "value", min: 0 },
      series: [
        { name: labels.likely || "", type: "bar", stack: "value", barMaxWidth: 56, data: (figures.likely || []).map(Number) },
        { name: labels.at_risk || "", type: "bar", stack: "value", barMaxWidth: 56, data: (figures.at_risk || []).map(Number) },
      ],
    });
    charts.push(chart);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.getElementById("forecast-chart");
    if (box && window.echarts) forecastChart(box);
    document.body.dataset.chartsDrawn = String(charts.length);
  });
  function place(host) {
    const tip = host.querySelector(":scope > .tip");
    if (!tip) return;
    tip.classList.add("placed");
    const around = host.getBoundingClientRect();
    const width = tip.offsetWidth;
    const height = tip.offsetHeight;
    const left = Math.max(8, Math.min(around.left, window.innerWidth - width - 8));
    let top = around.bottom + 4;
    if (top + height > window.innerHeight - 8 && around.top - height - 4 > 8) {
      top = around.top - height - 4;
    }
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  }

  function placeFrom(event) {
    const host = event.target.closest && event.target.closest(".tipped");
    if (host) place(host);
  }

  document.addEventListener("mouseover", placeFrom);
  document.addEventListener("focusin", placeFrom);
  // The earlier orders arrive after the tooltip opened: it grows, so place it again.
  document.addEventListener("htmx:afterSwap", (event) => {
    const host = event.detail.target.closest && event.detail.target.closest(".tipped");
    if (host) place(host);
  });
  document.addEventListener("keydown", (event) => {
    const active = document.activeElement;
    if (event.key === "Escape" && active && active.classList.contains("tipped")) active.blur();
  });
  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
})();
