// Production Portal start page: sign in and out through the JSON auth API.
// A file rather than inline script, so the page's Content-Security-Policy can forbid inline code.
"use strict";

(function () {
  const message = document.getElementById("message");

  function show(text) {
    if (!message) return;
    message.textContent = text;
    message.hidden = !text;
  }

  async function explain(response) {
    try {
      const problem = await response.json();
      return problem.detail || problem.title || `${response.status} ${response.statusText}`;
    } catch {
      return `${response.status} ${response.statusText}`;
    }
  }

  function post(url, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  const form = document.getElementById("sign-in");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      const fields = new FormData(form);
      show("");
      button.disabled = true;
      try {
        const response = await post("/api/auth/login", {
          username: String(fields.get("username") || ""),
          password: String(fields.get("password") || ""),
        });
        if (response.ok) {
          window.location.assign("/");
          return;
        }
        show(await explain(response));
      } catch {
        show("The portal cannot be reached. Check the network and try again.");
      } finally {
        button.disabled = false;
      }
    });
  }

  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      signOut.disabled = true;
      try {
        await post("/api/auth/logout");
      } finally {
        window.location.assign("/");
      }
    });
  }
})();
