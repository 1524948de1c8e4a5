// Production pages: the QC station on the tablet, and the order page's forms.
// A file rather than inline script (the pages' CSP).
"use strict";

(function () {
  // QC station: when an order is picked, the passed count is ready to type over; after a
  // decision the result is announced and the next order is one tap away in the list.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "qc-station") return;
    const station = event.detail.target;
    const done = station.querySelector("[data-qc-done] h2");
    if (done) {
      done.setAttribute("tabindex", "-1");
      done.focus();
      return;
    }
    const invalid = station.querySelector("[aria-invalid='true']");
    const first = invalid || station.querySelector("#f-qty_passed");
    if (first) first.focus();
  });

  // A tap in a count selects it, so typing replaces it (the QC counts, a run's quantities).
  document.addEventListener("focusin", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement)) return;
    if (input.classList.contains("count-input") || input.name === "qty_good" || input.name === "qty_bad") {
      input.select();
    }
  });

  // A refused start lists the shortages: bring them into view.
  document.addEventListener("DOMContentLoaded", () => {
    const shortages = document.getElementById("shortages");
    if (shortages) shortages.scrollIntoView({ block: "center" });
  });
})();
