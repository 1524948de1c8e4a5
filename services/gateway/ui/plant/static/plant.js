// Plant pages: the shift form says "crosses midnight" as soon as the end is at or before the
// start. A file rather than inline script (the pages' CSP). Times are "HH:MM" strings, which
// compare correctly as text.
"use strict";

(function () {
  function update(form) {
    const start = form.querySelector("[data-shift-start]");
    const end = form.querySelector("[data-shift-end]");
    const hint = form.querySelector("[data-crosses-midnight]");
    if (!start || !end || !hint) return;
    hint.hidden = !(start.value && end.value && end.value <= start.value);
  }

  document.addEventListener("input", (event) => {
    const form = event.target instanceof Element ? event.target.closest("form") : null;
    if (form && form.querySelector("[data-crosses-midnight]")) update(form);
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-crosses-midnight]").forEach((hint) => {
      const form = hint.closest("form");
      if (form) update(form);
    });
  });
})();
