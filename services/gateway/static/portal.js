// Production Portal: the frame's behaviour. A file rather than inline script, so the pages'
// Content-Security-Policy can forbid inline code (Alpine is its CSP build for the same reason).
"use strict";

(function () {
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Every htmx request carries the session's CSRF token; the gateway refuses changes without it.
  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
    // A refresh the page made by itself (a live event, the tick) is not someone at the
    // screen: it must not keep an unattended tablet's session from timing out.
    const trigger = event.detail.triggeringEvent;
    if (trigger && typeof trigger.type === "string" && trigger.type.startsWith("sse:")) {
      event.detail.headers["X-Portal-Background"] = "1";
    }
  });

  // A refused htmx request shows the problem's detail instead of failing silently.
  document.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    let text = `${xhr.status} ${xhr.statusText}`;
    try {
      const problem = JSON.parse(xhr.responseText);
      text = problem.detail || problem.title || text;
    } catch (_) { /* not JSON */ }
    toast(text);
  });
  document.addEventListener("htmx:sendError", () => toast(document.body.dataset.offline || "The portal cannot be reached. Check the network and try again."));

  function toast(text) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // For page scripts (grids, charts) that call the JSON API themselves.
  window.portal = {
    csrfToken,
    toast,
    async send(method, url, body) {
      const headers = { Accept: "application/json", "X-CSRF-Token": csrfToken() };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(url, {
        method,
        credentials: "same-origin",
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    },
  };

  // Alpine components (the CSP build evaluates no inline expressions beyond property access).
  document.addEventListener("alpine:init", () => {
    window.Alpine.data("menu", () => ({
      open: false,
      toggle() { this.open = !this.open; },
      close() { this.open = false; },
    }));
  });
})();
