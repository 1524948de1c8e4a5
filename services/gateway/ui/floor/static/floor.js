// The floor tablet (services/gateway/ui/floor): "Line down" / "Back up", the reason tree drilled
// by taps, stops entered after the fact, machine stops classified, and the queue that keeps
// what the operator records while the floor's Wi-Fi is down.
//
// A file rather than inline script (the pages' CSP); the Alpine component is registered here
// because Alpine's CSP build evaluates only simple expressions.
//
// Every action is first written into localStorage as the request it will be: method, path,
// JSON body (with the tap's own time in it) and an Idempotency-Key drawn at the tap. The queue
// is then sent in order, at once when the connection allows, else on the browser's "online"
// event and every RETRY_MS. A request whose answer was lost is sent again with the same key
// and the same body, and the downtime service answers it with the first answer without
// recording anything twice. A "Back up" tapped while its "Line down" still waits is queued
// behind it and learns the stop's id from the start's answer.
//
// An item belongs to the user who tapped it (its key is theirs): before sending, the tablet asks
// the gateway who is signed in now and sends only that user's items, each through the floor's
// own route (/floor/send/...), which refuses it unless the signed-in user is the one named in
// X-Portal-Queued-By. Another user's items wait, shown as waiting for them to sign in.
//
// What an answer means for an item:
// - 2xx: saved; it leaves the queue.
// - no answer, 401, an expired CSRF token, 408, 429, 409 concurrent_change, 5xx: not a refusal
//   of the entry; it stays, is sent again later with the same key and body, and holds back
//   the items of its line behind it (a 5xx is shown as failing, with the server's words). The
//   operator may discard it.
// - any other 4xx: refused. Just tapped (the operator is looking), it leaves the queue and the
//   refusal is shown; one that had to wait stays in the list as refused, with its own words,
//   until the operator discards it (and enters it again, corrected).
"use strict";

(function () {
  const QUEUE_KEY = "portal.floor.queue.v1";
  const API = "/api/downtime/v1";
  const SEND = "/floor/send";
  const WHO = "/api/auth/me";
  const RETRY_MS = 10000;
  const SEND_TIMEOUT_MS = 15000;
  const DAY_MS = 86400000;
  const COLOUR = /^#[0-9a-fA-F]{6}$/;

  // --- the plant's wall clock ---------------------------------------------------------------
  // The facility's IANA zone comes with the page; the browser's own zone plays no part.

  const formatters = new Map();
  function wallFormatter(zone) {
    let found = formatters.get(zone);
    if (!found) {
      found = new Intl.DateTimeFormat("en-US", {
        timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      });
      formatters.set(zone, found);
    }
    return found;
  }

  // The plant's wall clock at instant `ms`: {year, month, day, hour, minute, second}.
  function wallOf(ms, zone) {
    const parts = {};
    for (const part of wallFormatter(zone).formatToParts(new Date(ms))) {
      if (part.type !== "literal") parts[part.type] = Number(part.value);
    }
    return parts;
  }

  // How far the wall clock is ahead of UTC at instant `ms` (ms; negative west of Greenwich).
  function offsetAt(ms, zone) {
    const w = wallOf(ms, zone);
    const whole = Math.floor(ms / 1000) * 1000;
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
  }

  // The instant the plant's clock shows year-month-day hour:minute. Across a change of the
  // clocks it reads as the server does (Python's zoneinfo, fold=0): a time shown twice in the
  // autumn is the first of the two; a time the clock skipped in the spring is read with the
  // offset from before the change.
  function toUtc(year, month, day, hour, minute, zone) {
    const wall = Date.UTC(year, month - 1, day, hour, minute);
    const before = offsetAt(wall - DAY_MS, zone);
    const after = offsetAt(wall + DAY_MS, zone);
    const first = wall - before;
    if (offsetAt(first, zone) === before) return first;
    const second = wall - after;
    if (offsetAt(second, zone) === after) return second;
    return first;
  }

  function addDays(date, days) {
    const moved = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
    return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
  }

  function hourMinute(text) {
    const found = /^(\d{1,2}):(\d{2})/.exec(String(text || "").trim());
    if (!found) return null;
    const hour = Number(found[1]);
    const minute = Number(found[2]);
    return hour < 24 && minute < 60 ? { hour, minute } : null;
  }

  // A stop typed as two wall-clock times: it started at the latest `start` on the plant's clock
  // that is not after `nowMs`, and ended at the first `end` after that. {start, end} in ms.
  function resolveSpan(startText, endText, nowMs, zone) {
    const start = hourMinute(startText);
    const end = hourMinute(endText);
    if (!start || !end) return null;
    const today = wallOf(nowMs, zone);
    let day = { year: today.year, month: today.month, day: today.day };
    let startMs = toUtc(day.year, day.month, day.day, start.hour, start.minute, zone);
    if (startMs > nowMs) {
      day = addDays(day, -1);
      startMs = toUtc(day.year, day.month, day.day, start.hour, start.minute, zone);
    }
    let endMs = toUtc(day.year, day.month, day.day, end.hour, end.minute, zone);
    if (endMs <= startMs) {
      const next = addDays(day, 1);
      endMs = toUtc(next.year, next.month, next.day, end.hour, end.minute, zone);
    }
    return { start: startMs, end: endMs };
  }

  // --- the queue, kept in localStorage -----------------------------------------------------

  function loadQueue() {
    try {
      const items = JSON.parse(window.localStorage.getItem(QUEUE_KEY) || "[]");
      return Array.isArray(items) ? items.filter((item) => item && item.id && item.key) : [];
    } catch (_) {
      return [];
    }
  }

  function saveQueue(items) {
    window.localStorage.setItem(QUEUE_KEY, JSON.stringify(items));
  }

  // Read, change and write back at once: another tab of the same tablet may have changed it.
  function changeQueue(change) {
    const items = loadQueue();
    const changed = change(items) || items;
    saveQueue(changed);
    return changed;
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // The floor's route for a queued request: the service's path behind /floor/send.
  function sendPath(path) {
    return path.startsWith(`${API}/`) ? SEND + path.slice(API.length) : null;
  }

  async function send(item, csrf) {
    const path = sendPath(item.path);
    if (!path) throw new Error(`not a queued request: ${item.path}`);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), SEND_TIMEOUT_MS);
    try {
      return await fetch(path, {
        method: item.method,
        credentials: "same-origin",
        cache: "no-store",
        signal: controller.signal,
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRF-Token": csrf || (window.portal ? window.portal.csrfToken() : ""),
          "X-Portal-Queued-By": item.user,
          "Idempotency-Key": item.key,
        },
        body: JSON.stringify(item.body),
      });
    } finally {
      clearTimeout(timer);
    }
  }

  // Who is signed in on this browser now, and that session's CSRF token: {user, csrf}; null
  // when nobody is; undefined when the gateway cannot be asked. A background request: it does
  // not keep an unattended tablet's session alive.
  async function signedIn() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), SEND_TIMEOUT_MS);
    try {
      const answer = await fetch(WHO, {
        credentials: "same-origin",
        cache: "no-store",
        signal: controller.signal,
        headers: { Accept: "application/json", "X-Portal-Background": "1" },
      });
      if (answer.status === 401) return null;
      if (!answer.ok) return undefined;
      const me = await answer.json();
      if (!me || typeof me.username !== "string" || !me.username) return undefined;
      return { user: me.username, csrf: answer.headers.get("X-CSRF-Token") || "" };
    } catch (_) {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  function isJson(answer) {
    return /json/i.test(answer.headers.get("Content-Type") || "");
  }

  async function problemOf(answer) {
    try {
      const problem = await answer.json();
      return problem && typeof problem === "object" ? problem : {};
    } catch (_) {
      return {};
    }
  }

  // --- colours given as data (the CSP forbids style attributes; CSSOM is allowed) ---------

  function ink(colour) {
    const channels = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4)));
    const luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
    return luminance > 0.179 ? "#000000" : "#ffffff";
  }

  function paint(root) {
    (root || document).querySelectorAll("[data-colour]").forEach((el) => {
      const colour = el.dataset.colour;
      if (!COLOUR.test(colour)) return;
      el.style.setProperty("background-color", colour);
      if (el.textContent.trim()) el.style.setProperty("color", el.dataset.ink || ink(colour));
    });
  }
  document.addEventListener("DOMContentLoaded", () => paint());
  document.addEventListener("htmx:afterSettle", () => paint());

  function readJson(id, fallback) {
    const el = document.getElementById(id);
    if (!el) return fallback;
    try {
      return JSON.parse(el.textContent);
    } catch (_) {
      return fallback;
    }
  }

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, (whole, name) =>
      (values && values[name] !== undefined ? String(values[name]) : whole));
  }

  // --- the tablet ----------------------------------------------------------------------------

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("floorTablet", () => ({
      line: "",
      user: "",
      // Who is signed in on this browser as far as the tablet knows ("" for nobody): the user
      // the page was drawn for until the gateway says otherwise.
      signedIn: "",
      csrf: "",
      canRecord: false,
      strings: {},
      tree: [],
      state: {},
      skew: 0,
      now: Date.now(),
      trail: [],
      picked: null,
      notes: "",
      startText: "",
      endText: "",
      editReason: "",
      spanText: "",
      classifying: null,
      queue: [],
      message: "",
      problem: "",
      offline: !navigator.onLine,
      busy: false,
      flushing: false,
      messageTimer: null,

      init() {
        this.line = this.$root.dataset.line;
        this.user = this.$root.dataset.user || "";
        this.signedIn = this.user;
        this.canRecord = this.$root.dataset.canRecord === "true";
        this.strings = readJson("floor-strings", {});
        this.tree = this.prepare(readJson("floor-tree", []), []);
        this.readState();
        this.reloadQueue();
        setInterval(() => { this.now = Date.now(); }, 1000);
        setInterval(() => this.flush(), RETRY_MS);
        window.addEventListener("online", () => { this.offline = false; this.flush(); });
        window.addEventListener("offline", () => { this.offline = true; });
        window.addEventListener("storage", (event) => {
          if (event.key === QUEUE_KEY) this.reloadQueue();
        });
        document.addEventListener("htmx:afterSettle", (event) => {
          if (event.detail.elt && event.detail.elt.id === "floor-live") this.readState();
        });
        this.$root.addEventListener("click", (event) => {
          const button = event.target.closest("[data-classify]");
          if (button) this.startClassify(button);
        });
        this.flush();
      },

      // Each node knows its path and how it is drawn.
      prepare(nodes, names) {
        return (nodes || []).map((node) => {
          const path = names.concat([node.name]);
          const children = this.prepare(node.children, path);
          return {
            code: node.code,
            name: node.name,
            path: path.join(" / "),
            colour: node.colour,
            branch: children.length > 0,
            children,
            style: { "background-color": node.colour, color: node.ink },
          };
        });
      },

      readState() {
        const state = readJson("floor-state", null);
        if (!state) return;
        this.state = state;
        const serverNow = Date.parse(state.now);
        if (!Number.isNaN(serverNow)) this.skew = serverNow - Date.now();
        paint(document.getElementById("floor-live"));
      },

      reloadQueue() {
        this.queue = loadQueue();
      },

      // The plant's clock now, as the server would read it (the tablet's clock may be off).
      moment() {
        return Date.now() + this.skew;
      },

      clock(ms) {
        const w = wallOf(ms, this.state.timezone || "UTC");
        return `${String(w.hour).padStart(2, "0")}:${String(w.minute).padStart(2, "0")}`;
      },

      duration(seconds) {
        const total = Math.max(0, Math.floor(seconds));
        if (total < 60) return fill(this.strings.seconds, { seconds: total });
        const minutes = Math.floor(total / 60);
        if (minutes < 60) return fill(this.strings.minutes, { minutes });
        return fill(this.strings.hours, {
          hours: Math.floor(minutes / 60), minutes: String(minutes % 60).padStart(2, "0"),
        });
      },

      // --- what is shown ---

      get mine() {
        return this.queue.filter((item) => item.line === this.line);
      },

      isMine(item) {
        return Boolean(item.user) && item.user === this.signedIn;
      },

      // Someone else signed in on this browser after the page was drawn for its user.
      get signedInElsewhere() {
        return this.signedIn && this.signedIn !== this.user
          ? fill(this.strings.otherSignedIn, { user: this.signedIn, page: this.user }) : "";
      },

      // The stop running now: a "Line down" still waiting to be sent, else the server's,
      // unless a "Back up" for it waits to be sent.
      get running() {
        const waiting = this.mine.filter((item) => item.status !== "refused");
        const ended = (id) => waiting.some((item) => item.kind === "end" && (item.after === id || item.downtime === id));
        const start = waiting.filter((item) => item.kind === "start" && !ended(item.id)).pop();
        if (start) {
          return { local: true, startedAt: Date.parse(start.body.started_at), reason: start.show.reason };
        }
        const server = this.state.running;
        if (server && !ended(server.id)) {
          return {
            local: false, id: server.id, startedAt: Date.parse(server.started_at),
            reason: server.reason_path || "", source: server.source,
          };
        }
        return null;
      },
      get isRunning() { return this.running !== null; },
      get isUp() { return this.running === null; },
      get runningWaits() { return Boolean(this.running && this.running.local); },
      get stateClass() { return this.isRunning ? "is-down" : "is-up"; },
      get since() { return this.running ? this.clock(this.running.startedAt) : ""; },
      get elapsed() {
        if (!this.running) return "";
        const total = Math.max(0, Math.floor((this.now + this.skew - this.running.startedAt) / 1000));
        const h = Math.floor(total / 3600);
        const m = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
        const s = String(total % 60).padStart(2, "0");
        return `${h}:${m}:${s}`;
      },
      get runningReason() {
        if (!this.running) return "";
        if (this.picked) return fill(this.strings.reasonChosen, { reason: this.picked.path });
        if (this.running.reason) return fill(this.strings.reasonChosen, { reason: this.running.reason });
        return this.strings.noReason;
      },
      get tiles() {
        return this.trail.length ? this.trail[this.trail.length - 1].children : this.tree;
      },
      get pickedCode() { return this.picked ? this.picked.code : ""; },
      get pickedText() { return this.picked ? fill(this.strings.reasonChosen, { reason: this.picked.path }) : ""; },
      get classifyingText() {
        return this.classifying ? fill(this.strings.classifying, this.classifying) : "";
      },
      get hasPending() { return this.mine.length > 0; },
      get pending() {
        return this.mine.map((item) => {
          const refused = item.status === "refused";
          let text = "";
          if (item.kind === "start") text = fill(this.strings.lineDown, item.show);
          else if (item.kind === "end") text = fill(this.strings.backUp, item.show);
          else if (item.kind === "record") text = fill(this.strings.stop, item.show);
          else text = fill(this.strings.classify, item.show);
          if (item.show.reason && item.kind !== "classify") text += ` · ${item.show.reason}`;
          let css = "waiting";
          let status = this.strings.waiting;
          if (refused) {
            css = "refused";
            status = fill(this.strings.refused, { detail: item.detail });
          } else if (!this.isMine(item)) {
            status = fill(this.strings.otherUser, { user: item.user || "?" });
          } else if (item.failure) {
            css = "failing";
            status = fill(this.strings.failing, { detail: item.failure });
          }
          return { id: item.id, kind: item.kind, text, refused, css, status };
        });
      },

      // --- the reason tree ---

      tap(event) {
        const code = event.currentTarget.dataset.code;
        const node = this.tiles.find((each) => each.code === code);
        if (!node) return;
        if (node.branch) {
          this.trail = this.trail.concat([{ code: node.code, name: node.name, depth: this.trail.length + 1, children: node.children }]);
          return;
        }
        this.picked = { code: node.code, path: node.path };
        this.problem = "";
        if (this.classifying) this.classify();
      },
      top() { this.trail = []; },
      back(event) {
        const depth = Number(event.currentTarget.dataset.crumb);
        this.trail = this.trail.slice(0, depth);
      },

      // --- actions: each becomes a queued request, then the queue is sent ---

      enqueue(kind, method, path, body, show, extra) {
        const item = Object.assign({
          id: newKey(), key: newKey(), line: this.line, user: this.user, kind, method, path, body, show,
          at: this.moment(), status: "waiting", waited: !navigator.onLine,
        }, extra || {});
        this.queue = changeQueue((items) => { items.push(item); });
        if (navigator.onLine) this.message = ""; else this.say(this.strings.queued);
        this.problem = "";
        return item;
      },

      finishAction() {
        this.picked = null;
        this.trail = [];
        this.notes = "";
        this.editReason = "";
        this.flush();
      },

      lineDown() {
        if (this.isRunning) {
          this.problem = this.strings.alreadyDown;
          return;
        }
        const at = this.moment();
        const body = { started_at: new Date(at).toISOString() };
        if (this.picked) body.reason_code = this.picked.code;
        if (this.notes.trim()) body.notes = this.notes.trim();
        if (this.editReason.trim()) body.edit_reason = this.editReason.trim();
        if (this.state.order && this.state.order.order_code) body.order_code = this.state.order.order_code;
        this.enqueue("start", "POST", `${API}/lines/${encodeURIComponent(this.line)}/downtime/start`, body,
          { time: this.clock(at), reason: this.picked ? this.picked.path : "" });
        this.finishAction();
      },

      backUp() {
        const running = this.running;
        if (!running) return;
        const at = this.moment();
        const body = { ended_at: new Date(at).toISOString() };
        if (this.picked) body.reason_code = this.picked.code;
        if (this.notes.trim()) body.notes = this.notes.trim();
        const show = { time: this.clock(at), reason: this.picked ? this.picked.path : "" };
        if (running.local) {
          // Its start still waits: the path is known once the start has been answered.
          const start = this.mine.filter((item) => item.kind === "start" && item.status !== "refused").pop();
          this.enqueue("end", "POST", null, body, show, { after: start.id });
        } else {
          this.enqueue("end", "POST", `${API}/downtimes/${running.id}/end`, body, show, { downtime: running.id });
        }
        this.finishAction();
      },

      preview() {
        const span = resolveSpan(this.startText, this.endText, this.moment(), this.state.timezone || "UTC");
        if (!span) {
          this.spanText = "";
          return;
        }
        const when = (ms) => {
          const w = wallOf(ms, this.state.timezone || "UTC");
          const date = new Date(Date.UTC(w.year, w.month - 1, w.day));
          const day = date.toLocaleDateString(document.documentElement.lang || "en", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
          return `${day} ${this.clock(ms)}`;
        };
        this.spanText = fill(this.strings.span, {
          start: when(span.start), end: when(span.end), duration: this.duration((span.end - span.start) / 1000),
        });
      },

      recordAfter() {
        if (!this.picked) {
          this.problem = this.strings.pickReason;
          return;
        }
        const now = this.moment();
        const span = resolveSpan(this.startText, this.endText, now, this.state.timezone || "UTC");
        if (!span) {
          this.problem = this.strings.timesMissing;
          return;
        }
        if (span.end > now) {
          this.problem = this.strings.endInFuture;
          return;
        }
        const body = {
          line_code: this.line,
          reason_code: this.picked.code,
          started_at: new Date(span.start).toISOString(),
          ended_at: new Date(span.end).toISOString(),
        };
        if (this.notes.trim()) body.notes = this.notes.trim();
        if (this.editReason.trim()) body.edit_reason = this.editReason.trim();
        this.enqueue("record", "POST", `${API}/downtimes`, body,
          { start: this.clock(span.start), end: this.clock(span.end), reason: this.picked.path });
        this.startText = "";
        this.endText = "";
        this.spanText = "";
        this.finishAction();
      },

      startClassify(button) {
        if (!this.canRecord) return;
        this.classifying = {
          id: Number(button.dataset.classify),
          version: Number(button.dataset.version),
          start: button.dataset.when,
          source: button.dataset.how,
        };
        this.picked = null;
        this.trail = [];
        this.problem = "";
        this.$root.querySelector(".reasons").scrollIntoView({ block: "start" });
      },

      cancelClassify() { this.classifying = null; },

      classify() {
        const target = this.classifying;
        if (!target || !this.picked) return;
        const body = { version: target.version, reason_code: this.picked.code };
        if (this.editReason.trim()) body.edit_reason = this.editReason.trim();
        this.enqueue("classify", "PATCH", `${API}/downtimes/${target.id}`, body,
          { start: target.start, reason: this.picked.path });
        this.classifying = null;
        this.finishAction();
      },

      // Any item of the list may be discarded (one that keeps failing, one refused to be entered
      // again, one tapped by mistake), once the operator confirms.
      discard(event) {
        const id = event.currentTarget.dataset.id;
        const shown = this.pending.find((each) => each.id === id);
        if (!shown || !window.confirm(fill(this.strings.discardConfirm, { entry: shown.text }))) return;
        this.queue = changeQueue((items) => items.filter((item) => item.id !== id));
      },

      // --- sending the queue, in order, each request once ---

      async flush() {
        if (this.flushing) return;
        this.flushing = true;
        let sent = false;
        try {
          if (!loadQueue().some((each) => each.status !== "refused")) return;
          if (!navigator.onLine) return;
          const who = await signedIn();
          if (who === undefined) return;
          this.signedIn = who ? who.user : "";
          this.csrf = who ? who.csrf : "";
          if (!who) {
            this.problem = this.strings.signIn;
            return;
          }
          if (this.problem === this.strings.signIn) this.problem = "";
          // Lines whose next item was not taken this time: the items behind it wait with it.
          const held = new Set();
          let refusals = 0;
          for (;;) {
            const items = loadQueue();
            const item = items.find((each) => !held.has(each.line) && this.sendable(each, items));
            if (!item) break;
            if (!item.path) {
              // An end whose start was refused (or discarded) cannot be sent.
              this.refuse(item, this.strings.startRefused);
              continue;
            }
            let answer;
            try {
              answer = await send(item, this.csrf);
            } catch (_) {
              this.note(item, "");
              break;
            }
            if (answer.ok) {
              this.sent(item, await problemOf(answer));
              sent = true;
              continue;
            }
            const status = answer.status;
            const problem = isJson(answer) ? await problemOf(answer) : {};
            const detail = problem.detail || problem.title || String(status);
            if (status === 409 && problem.code === "queued_by_another_user") {
              // Someone else signed in since the gateway was asked: this one waits for its user.
              const now = typeof problem.signed_in === "string" ? problem.signed_in : "";
              if (!now || now === item.user) break;
              this.signedIn = now;
              continue;
            }
            if (status === 401 || (status === 403 && (problem.code === "csrf_failed" || !isJson(answer)))) {
              // Signed out, or a new session since the gateway was asked: ask again next time.
              if (status === 401) {
                this.signedIn = "";
                this.problem = this.strings.signIn;
              }
              break;
            }
            if (status === 408 || status === 429 || status >= 500
                || (status === 409 && problem.code === "concurrent_change")) {
              // Not a refusal of the entry: sent again later, with the same key and body.
              this.note(item, status === 409 ? "" : detail);
              held.add(item.line);
              continue;
            }
            this.message = "";
            const after = loadQueue();
            const last = after.length > 0 && after[after.length - 1].id === item.id;
            if (!item.waited && last && refusals === 0) {
              // Just tapped, and nothing else waits: the operator sees why at once.
              this.problem = detail;
              this.drop(item);
            } else {
              this.refuse(item, detail);
              if (item.line === this.line) this.problem = this.strings.refusedListed;
            }
            refusals += 1;
          }
        } finally {
          // Whatever is still queued has waited: a refusal of it later stays in the list.
          this.markWaited();
          this.flushing = false;
          this.reloadQueue();
        }
        if (sent) {
          if (!this.problem) this.say(this.strings.saved);
          const live = document.getElementById("floor-live");
          if (live && window.htmx) window.htmx.trigger(live, "floor-refresh");
        }
      },

      // The next to send: not refused, the signed-in user's (a key belongs to the user who
      // sent it, so another user's entries wait for them), and not an end whose start waits.
      sendable(item, items) {
        if (item.status === "refused" || !this.isMine(item)) return false;
        if (item.path) return true;
        return !items.some((each) => each.id === item.after && each.status !== "refused");
      },

      // A notice that goes away by itself; problems stay until the next action.
      say(text) {
        this.message = text;
        clearTimeout(this.messageTimer);
        this.messageTimer = setTimeout(() => { this.message = ""; }, 6000);
      },

      sent(item, answer) {
        this.queue = changeQueue((items) => {
          const rest = items.filter((each) => each.id !== item.id);
          if (item.kind === "start" && answer && answer.id) {
            for (const each of rest) {
              if (each.after === item.id) {
                each.path = `${API}/downtimes/${answer.id}/end`;
                each.downtime = answer.id;
                delete each.after;
              }
            }
          }
          return rest;
        });
        if (item.kind === "start" && answer && answer.id) {
          this.state = Object.assign({}, this.state, { running: answer });
        } else if (item.kind === "end" && this.state.running && this.state.running.id === item.downtime) {
          this.state = Object.assign({}, this.state, { running: null });
        }
      },

      markWaited() {
        if (loadQueue().every((each) => each.waited)) return;
        this.queue = changeQueue((items) => {
          for (const each of items) each.waited = true;
        });
      },

      // What the server said of an item it did not take ("" for none): shown while it waits.
      note(item, failure) {
        this.queue = changeQueue((items) => {
          for (const each of items) {
            if (each.id === item.id) {
              each.failure = failure;
              if (failure) each.failedAt = Date.now();
            }
          }
        });
      },

      refuse(item, detail) {
        this.queue = changeQueue((items) => {
          for (const each of items) {
            if (each.id === item.id) {
              each.status = "refused";
              each.detail = detail;
            }
          }
        });
      },

      drop(item) {
        this.queue = changeQueue((items) => items.filter((each) => each.id !== item.id));
      },
    }));
  });

  // For tests and for anyone checking the clock arithmetic in the browser's console.
  window.portalFloor = { toUtc, resolveSpan, wallOf, queueKey: QUEUE_KEY };
})();
