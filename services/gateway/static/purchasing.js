// Purchasing pages: the PO form's line rows, and the receiving page's scan field.
// A file rather than inline script (the pages' CSP); Alpine components are registered here
// because Alpine's CSP build evaluates no inline expressions beyond property names and calls.
"use strict";

(function () {
  document.addEventListener("alpine:init", () => {
    // The lines of a new purchase order: add a blank row, remove one (the last one is cleared
    // instead, so the form always has a row to type into). The rows are plain inputs named
    // sku / qty / unit_cost, read in order by the server, so nothing needs renumbering.
    window.Alpine.data("poLines", () => ({
      add() {
        const row = this.$refs.blank.content.firstElementChild.cloneNode(true);
        this.$refs.body.appendChild(row);
        const first = row.querySelector("input");
        if (first) first.focus();
      },
      clicked(event) {
        const button = event.target.closest("[data-remove]");
        if (!button) return;
        const row = button.closest("tr");
        if (this.$refs.body.rows.length > 1) {
          row.remove();
        } else {
          row.querySelectorAll("input").forEach((input) => { input.value = ""; });
        }
      },
    }));
  });

  // Receiving: after a receipt the scan field is ready for the next PO (a scanner types the
  // number and Enter), and a tap in a quantity selects it, so typing replaces it.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "receiving-po") return;
    if (event.detail.target.querySelector("[data-received]")) {
      const scan = document.getElementById("scan");
      if (scan) { scan.value = ""; scan.focus(); }
    }
  });
  document.addEventListener("focusin", (event) => {
    const input = event.target;
    if (input instanceof HTMLInputElement && input.name === "qty" && input.closest("#receiving-po")) {
      input.select();
    }
  });
})();
