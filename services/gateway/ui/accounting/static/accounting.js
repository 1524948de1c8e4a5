// Accounting pages: the manual journal entry's lines and its live totals.
// A file rather than inline script (the pages' CSP); Alpine components are registered here
// because Alpine's CSP build evaluates no inline expressions beyond property names and calls.
//
// Amounts are never added as JavaScript numbers (0.1 + 0.2 is not 0.3 in floating point):
// each typed amount becomes a BigInt of ten-thousandths (the ledger keeps four decimals), the
// totals are sums of those integers, and they are shown by formatting the integers back.
"use strict";

(function () {
  const SCALE = 10000n;
  // Digits with a point and at most four decimals; commas only as thousands separators.
  const AMOUNT = /^(\d+|\d{1,3}(,\d{3})+)?(\.\d{0,4})?$/;
  const MAX_WHOLE_DIGITS = 14; // NUMERIC(18, 4) in the ledger

  // "1,234.5" -> 12345000n, "" -> 0n, anything else -> null.
  function units(raw) {
    const text = String(raw || "").trim();
    if (text === "") return 0n;
    if (!AMOUNT.test(text) || text === ".") return null;
    const [whole, fraction = ""] = text.replace(/,/g, "").split(".");
    if (whole.length > MAX_WHOLE_DIGITS) return null;
    return BigInt(whole || "0") * SCALE + BigInt((fraction + "0000").slice(0, 4));
  }

  // 12345000n -> "1,234.50" in the page's language: at least two decimals, at most four.
  function shown(value, locale) {
    const negative = value < 0n;
    const size = negative ? -value : value;
    let fraction = (size % SCALE).toString().padStart(4, "0");
    while (fraction.length > 2 && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
    const whole = (size / SCALE).toLocaleString(locale);
    const point = new Intl.NumberFormat(locale).formatToParts(1.5)
      .find((part) => part.type === "decimal");
    return (negative ? "-" : "") + whole + (point ? point.value : ".") + fraction;
  }

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("journalEntry", () => ({
      debit: "",
      credit: "",
      difference: "",
      balanced: false,
      invalid: false,
      get unbalanced() { return !this.balanced; },
      get hideBalanced() { return !this.balanced; },
      get hideUnbalanced() { return this.balanced || this.invalid; },
      get hideInvalid() { return !this.invalid; },

      init() { this.recount(); },

      // Totals of every amount typed so far; an amount that is not one marks its input.
      recount() {
        const locale = document.documentElement.lang === "es" ? "es-US" : "en-US";
        let debit = 0n;
        let credit = 0n;
        let invalid = false;
        this.$refs.body.querySelectorAll("input[data-amount]").forEach((input) => {
          const value = units(input.value);
          if (value === null) {
            invalid = true;
            input.setAttribute("aria-invalid", "true");
            return;
          }
          if (!input.closest(".field.invalid")) input.removeAttribute("aria-invalid");
          if (input.name === "debit") debit += value; else credit += value;
        });
        this.debit = shown(debit, locale);
        this.credit = shown(credit, locale);
        this.difference = shown(debit - credit, locale);
        this.invalid = invalid;
        this.balanced = !invalid && debit === credit && debit > 0n;
      },

      // A blank line at the end, its account chosen next.
      add() {
        const row = this.$refs.blank.content.firstElementChild.cloneNode(true);
        this.$refs.body.appendChild(row);
        const first = row.querySelector("select, input");
        if (first) first.focus();
        this.recount();
      },

      // Remove a line (the last one left is cleared instead, so there is a row to type into).
      clicked(event) {
        const button = event.target.closest("[data-remove]");
        if (!button) return;
        const row = button.closest("tr");
        if (this.$refs.body.rows.length > 1) {
          row.remove();
        } else {
          row.querySelectorAll("input").forEach((input) => { input.value = ""; });
          row.querySelectorAll("select").forEach((select) => { select.selectedIndex = 0; });
        }
        this.recount();
      },
    }));
  });

  // Pages with a confirmation before an action that cannot be undone (a reversal, closing a
  // period): the button's data-confirm text is asked first.
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const text = button && button.dataset ? button.dataset.confirm : null;
    if (text && !window.confirm(text)) event.preventDefault();
  });
})();
