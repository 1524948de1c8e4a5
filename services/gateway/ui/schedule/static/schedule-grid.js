// The planners' scheduling grid: the open sales-order lines in an AG Grid (GET
// /api/mrp/v1/schedule, every page of the filters in the page's query string), the FG value
// cards above it, a pinned total row over the rows that pass the grid's own filters, and a
// side panel with a line's cell history.
//
// The two projection cells are typed in place. A cell is saved when the planner leaves it (PUT
// /api/mrp/v1/schedule/lines/{id}/{field} with the row's version); the saves of one row go one
// after another, so the second names the version the first produced. A 409 concurrent_change
// puts the row back as the server has it now and says who changed it, and the saves of that row
// already queued behind it are not sent: they were typed over the figures the other planner
// changed, and sent with the new version they would overwrite them unseen. Any other refusal
// puts the old value back with the server's reason. Money is worked out exactly (BigInt
// ten-thousandths), the way the server does: quantity x price, to the cent, half up.
//
// Other planners' saves appear by themselves: the page's live stream (/ui/live) says
// "schedule" when any planner saves a cell, and the grid asks the API for the lines saved since
// the newest save it has seen, then updates those rows (see "other planners' saves" below).
"use strict";

(function () {
  const box = document.getElementById("schedule-grid");
  if (!box || !window.agGrid) return;
  const texts = JSON.parse(box.dataset.texts || "{}");
  const query = box.dataset.query || "";
  const canEdit = box.dataset.canEdit === "true";
  const refused = box.dataset.refused === "true"; // the filters were refused: no lines to read
  const zone = box.dataset.timezone || "UTC";
  const nonce = (document.querySelector('meta[name="csp-nonce"]') || {}).content;
  const language = document.documentElement.lang || "en";
  const locale = language === "es" ? "es-US" : "en-US";
  const API = "/api/mrp/v1/schedule";
  const PROJECTIONS = ["low_risk_qty", "high_risk_qty"];
  const VALUE_OF = { low_risk_value: "low_risk_qty", high_risk_value: "high_risk_qty" };

  function say(key, values) {
    return (texts[key] || key).replace(/\{(\w+)\}/g, (whole, name) =>
      values && name in values ? String(values[name]) : whole
    );
  }

  // --- exact decimals ---------------------------------------------------------------------------
  const DECIMAL = /^\d+(\.\d{0,4})?$|^\.\d{1,4}$/;
  // "12.5" -> 125000n (ten-thousandths); null for an empty or unreadable quantity.
  function units(text) {
    if (text === null || text === undefined) return null;
    const written = String(text).trim();
    if (!DECIMAL.test(written)) return null;
    const [whole, fraction = ""] = written.split(".");
    return BigInt(whole || "0") * 10000n + BigInt((fraction + "0000").slice(0, 4));
  }
  function unitsText(value) {
    const whole = value / 10000n;
    const fraction = String(value % 10000n).padStart(4, "0");
    return `${whole}.${fraction}`;
  }
  // quantity x price to the cent, half up (both in ten-thousandths, neither negative).
  function cents(qty, price) {
    if (qty === null || price === null) return null;
    return (qty * price + 500000n) / 1000000n;
  }
  const quantityFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 4 });
  const moneyFormat = new Intl.NumberFormat(locale, { style: "currency", currency: "USD" });
  const priceFormat = new Intl.NumberFormat(locale, {
    style: "currency", currency: "USD", maximumFractionDigits: 4,
  });
  const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });
  const timeFormat = new Intl.DateTimeFormat(locale, {
    dateStyle: "short", timeStyle: "short", timeZone: zone,
  });
  const showQuantity = (text) => {
    const value = units(text);
    return value === null ? (text ?? "") : quantityFormat.format(Number(unitsText(value)));
  };
  const showCents = (value) => (value === null ? "" : moneyFormat.format(Number(value) / 100));
  const showDate = (text) => (text ? dateFormat.format(new Date(`${text}T00:00:00Z`)) : "");
  const showMoment = (text) => (text ? timeFormat.format(new Date(text)) : "");

  // --- columns ----------------------------------------------------------------------------------
  const number = (text) => {
    const value = units(text);
    return value === null ? null : Number(unitsText(value));
  };
  function quantityColumn(field, extra) {
    return {
      field,
      headerName: texts[field],
      type: "rightAligned",
      filter: "agNumberColumnFilter",
      filterValueGetter: (params) => number(params.data[field]),
      comparator: (a, b) => (number(a) ?? -1) - (number(b) ?? -1),
      valueFormatter: (params) => showQuantity(params.value),
      width: 130,
      ...extra,
    };
  }
  // A money column: the server's figure for the totals row, worked out from the row otherwise.
  function moneyColumn(field, worked, extra) {
    return {
      colId: field,
      headerName: texts[field],
      type: "rightAligned",
      filter: "agNumberColumnFilter",
      valueGetter: (params) => {
        const value = params.node.rowPinned ? params.data.cents[field] : worked(params.data);
        return value === null || value === undefined ? null : Number(value) / 100;
      },
      valueFormatter: (params) =>
        params.value === null ? "" : moneyFormat.format(params.value),
      width: 140,
      ...extra,
    };
  }
  const price = (data) => units(data.unit_price);
  const projectionValue = (qtyField) => (data) => cents(units(data[qtyField]), price(data));
  const overOpen = (params) => {
    if (params.node.rowPinned) return false;
    const low = units(params.data.low_risk_qty) || 0n;
    const high = units(params.data.high_risk_qty) || 0n;
    return low + high > (units(params.data.qty_open) || 0n);
  };
  function projectionColumn(field) {
    return quantityColumn(field, {
      editable: (params) => canEdit && !params.node.rowPinned,
      cellClass: (params) => (canEdit && !params.node.rowPinned ? "editable" : undefined),
      cellClassRules: { "over-open": overOpen },
      tooltipValueGetter: (params) => (overOpen(params) ? texts.over_open : undefined),
      valueParser: (params) => {
        const typed = String(params.newValue ?? "").trim();
        return typed === "" ? null : typed;
      },
      width: 150,
    });
  }
  function historyButton(params) {
    if (params.node.rowPinned) return "";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary history-button";
    button.textContent = texts.history;
    button.setAttribute("aria-label", `${texts.history}: ${params.data.so_number} / ${params.data.line_no}`);
    button.addEventListener("click", () => showHistory(params.data));
    return button;
  }

  const columnDefs = [
    { field: "so_number", headerName: texts.so_number, pinned: "left", width: 160,
      filter: "agTextColumnFilter", floatingFilter: true,
      colSpan: (params) => (params.node.rowPinned ? 3 : 1) },
    { field: "line_no", headerName: texts.line_no, pinned: "left", width: 80, type: "rightAligned" },
    { colId: "customer", headerName: texts.customer, width: 190, pinned: "left",
      valueGetter: (params) => (params.node.rowPinned ? "" : params.data.customer_name),
      tooltipValueGetter: (params) => (params.data ? params.data.customer_code : undefined),
      filter: "agTextColumnFilter", floatingFilter: true },
    { field: "business_unit", headerName: texts.business_unit, width: 140,
      filter: "agTextColumnFilter", floatingFilter: true },
    { field: "sku", headerName: texts.sku, width: 140, filter: "agTextColumnFilter",
      floatingFilter: true, tooltipField: "item_name" },
    { field: "due_date", headerName: texts.due_date, width: 140,
      filter: "agTextColumnFilter", floatingFilter: true,
      valueFormatter: (params) => showDate(params.value) },
    quantityColumn("qty_ordered"),
    quantityColumn("qty_shipped"),
    quantityColumn("fg_on_hand"),
    quantityColumn("fg_covering", { hide: true }),
    quantityColumn("net_qty"),
    { field: "unit_price", headerName: texts.unit_price, type: "rightAligned", width: 120,
      filter: "agNumberColumnFilter", filterValueGetter: (params) => number(params.data.unit_price),
      valueFormatter: (params) =>
        params.value === undefined || params.value === null ? "" : priceFormat.format(number(params.value)) },
    moneyColumn("ordered_value", (data) => cents(units(data.qty_ordered), price(data))),
    moneyColumn("net_value", (data) => cents(units(data.net_qty), price(data))),
    projectionColumn("low_risk_qty"),
    moneyColumn("low_risk_value", projectionValue("low_risk_qty")),
    projectionColumn("high_risk_qty"),
    moneyColumn("high_risk_value", projectionValue("high_risk_qty")),
    { field: "updated_by", headerName: texts.updated_by, width: 130,
      filter: "agTextColumnFilter" },
    { field: "updated_at", headerName: texts.updated_at, width: 170,
      valueFormatter: (params) => showMoment(params.value) },
    { colId: "history", headerName: texts.history, width: 120, sortable: false,
      filter: false, cellRenderer: historyButton },
  ];

  // --- the totals row ---------------------------------------------------------------------------
  const SUMMED_QTY = ["qty_ordered", "qty_shipped", "fg_covering", "net_qty",
    "low_risk_qty", "high_risk_qty"];
  const SUMMED_MONEY = {
    ordered_value: (data) => cents(units(data.qty_ordered), price(data)),
    net_value: (data) => cents(units(data.net_qty), price(data)),
    low_risk_value: projectionValue("low_risk_qty"),
    high_risk_value: projectionValue("high_risk_qty"),
  };
  function updateTotals() {
    const qty = Object.fromEntries(SUMMED_QTY.map((field) => [field, 0n]));
    const money = Object.fromEntries(Object.keys(SUMMED_MONEY).map((field) => [field, 0n]));
    let count = 0;
    grid.forEachNodeAfterFilter((node) => {
      if (!node.data) return;
      count += 1;
      for (const field of SUMMED_QTY) qty[field] += units(node.data[field]) || 0n;
      for (const [field, worked] of Object.entries(SUMMED_MONEY)) {
        money[field] += worked(node.data) || 0n;
      }
    });
    const total = { so_line_id: "total", so_number: say("total", { count }), cents: money };
    for (const field of SUMMED_QTY) total[field] = unitsText(qty[field]);
    grid.setGridOption("pinnedBottomRowData", [total]);
  }

  // --- saving a cell ----------------------------------------------------------------------------
  const queues = new Map(); // row id -> the promise of its last save
  const saving = new Map(); // row id -> how many of its saves are queued or under way
  const overtaken = new Set(); // rows whose save was refused as stale, until their queue drains
  function enqueue(id, work) {
    saving.set(id, (saving.get(id) || 0) + 1);
    const done = () => {
      const left = saving.get(id) - 1;
      if (left > 0) {
        saving.set(id, left);
      } else {
        saving.delete(id);
        overtaken.delete(id);
        release(String(id));
      }
    };
    const next = (queues.get(id) || Promise.resolve()).then(work, work).finally(done);
    queues.set(id, next);
    return next;
  }

  function applySaved(node, saved, fields) {
    const data = { ...node.data };
    for (const field of fields) data[field] = saved[field];
    data.version = saved.version;
    data.updated_by = saved.updated_by;
    data.updated_at = saved.updated_at;
    node.setData(data);
  }

  async function reason(answer) {
    try {
      const problem = await answer.json();
      return problem;
    } catch (_) {
      return { detail: `${answer.status} ${answer.statusText}` };
    }
  }

  async function save(node, field, value, oldValue) {
    const id = node.data.so_line_id;
    if (overtaken.has(id)) {
      window.portal.toast(say("not_sent", { so_number: node.data.so_number, line_no: node.data.line_no }));
      refreshRow(node);
      return;
    }
    let answer;
    try {
      answer = await window.portal.send("PUT", `${API}/lines/${id}/${field}`, {
        value, version: node.data.version,
      });
    } catch (_) {
      node.setDataValue(field, oldValue, "refused");
      window.portal.toast(document.body.dataset.offline || "offline");
      return;
    }
    if (answer.ok) {
      applySaved(node, await answer.json(), [field]);
      window.portal.toast(say("saved", { so_number: node.data.so_number, line_no: node.data.line_no }));
    } else {
      const problem = await reason(answer);
      if (answer.status === 409 && problem.code === "concurrent_change" && problem.current) {
        overtaken.add(id);
        applySaved(node, problem.current, PROJECTIONS);
        grid.flashCells({ rowNodes: [node], columns: PROJECTIONS });
        window.portal.toast(problem.detail);
      } else {
        node.setDataValue(field, oldValue, "refused"); // not an edit: not saved again
        window.portal.toast(say("failed", { reason: problem.detail || problem.title || answer.status }));
      }
    }
    refreshRow(node);
  }

  function refreshRow(node) {
    grid.refreshCells({ rowNodes: [node], force: true });
    updateTotals();
  }

  // --- other planners' saves --------------------------------------------------------------------
  // On the live stream's "schedule" the grid asks for the lines saved since the newest save it
  // has seen (less a minute: a save stamped earlier may commit later), the grid's own filters
  // applied, and takes each row whose version is newer than the one it shows: the two
  // quantities, their values, who and when, the version (so this planner's next save of the
  // row is not refused as stale), and the total row. A row this planner is saving waits until
  // her saves are done. A row she is typing in is updated around her editor, unless the other
  // planner changed the very cell she is typing in: then her typing stays and the row waits;
  // her save names the version she started from and is refused as stale with who changed it
  // (the row is then shown as it is now), or, if she leaves the cell unchanged, the row is
  // updated as she leaves it.
  const LOOK_BACK_MS = 60 * 1000;
  let newestSave = 0; // ms since 1970 of the newest updated_at read from the server
  let loaded = false;
  let editing = null; // { id, field } of the cell being typed in
  const waiting = new Map(); // row id -> the newer row from the server, held for the planner
  const LIVE_FIELDS = [...PROJECTIONS, "version", "updated_by", "updated_at"];

  function noteSaves(rows) {
    for (const row of rows) {
      const at = row.updated_at ? Date.parse(row.updated_at) : NaN;
      if (!Number.isNaN(at) && at > newestSave) newestSave = at;
    }
  }
  const sameQuantity = (a, b) => units(a) === units(b);

  function takeRow(node, fresh) {
    const data = { ...node.data };
    for (const field of LIVE_FIELDS) data[field] = fresh[field] ?? null;
    const changed = PROJECTIONS.filter((field) => !sameQuantity(node.data[field], data[field]));
    node.setData(data); // an open editor in the row keeps what is typed in it
    refreshRow(node);
    if (changed.length) {
      const values = changed.map((field) => field.replace("_qty", "_value"));
      grid.flashCells({ rowNodes: [node], columns: [...changed, ...values] });
    }
  }

  function offer(fresh) {
    const id = String(fresh.so_line_id);
    const node = grid.getRowNode(id);
    if (!node || !node.data || fresh.version <= node.data.version) return;
    const typingInIt = editing && editing.id === id
      && !sameQuantity(fresh[editing.field], node.data[editing.field]);
    if (saving.has(fresh.so_line_id) || typingInIt) {
      const held = waiting.get(id);
      if (!held || held.version < fresh.version) waiting.set(id, fresh);
      return;
    }
    waiting.delete(id);
    takeRow(node, fresh);
  }

  // The row is free again (her edit ended, her saves are done): the row held for her, if newer.
  function release(id) {
    const held = waiting.get(id);
    if (!held || (editing && editing.id === id) || saving.has(held.so_line_id)) return;
    waiting.delete(id);
    offer(held);
  }

  let fetching = false;
  let fetchAgain = false;
  async function fetchSaved() {
    if (!loaded || refused) return;
    if (fetching) {
      fetchAgain = true;
      return;
    }
    fetching = true;
    try {
      do {
        fetchAgain = false;
        const since = new Date(Math.max(newestSave - LOOK_BACK_MS, 0)).toISOString();
        const rows = await readLines(`updated_since=${encodeURIComponent(since)}`);
        if (!rows) break; // not now: the next save tells again
        noteSaves(rows);
        rows.forEach(offer);
      } while (fetchAgain);
    } finally {
      fetching = false;
    }
  }
  box.addEventListener("sse:schedule", fetchSaved);
  // Saves made while the stream was down (a network blip): read them when it is back.
  document.body.addEventListener("htmx:sseOpen", fetchSaved);

  // --- the history panel ------------------------------------------------------------------------
  const panel = document.getElementById("schedule-history");
  const fieldNames = { low_risk_qty: texts.low_risk_qty, high_risk_qty: texts.high_risk_qty };
  if (panel) {
    for (const heading of panel.querySelectorAll("[data-text]")) {
      heading.textContent = texts[heading.dataset.text] || "";
    }
    document.getElementById("schedule-history-close").addEventListener("click", () => {
      panel.hidden = true;
    });
  }

  async function showHistory(row) {
    if (!panel) return;
    const answer = await fetch(`${API}/lines/${row.so_line_id}/history?limit=200`, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    });
    if (!answer.ok) {
      const problem = await reason(answer);
      window.portal.toast(problem.detail || problem.title || String(answer.status));
      return;
    }
    const history = await answer.json();
    document.getElementById("schedule-history-title").textContent =
      say("history_of", { so_number: row.so_number, line_no: row.line_no });
    const body = panel.querySelector("tbody");
    body.replaceChildren();
    for (const change of history.items) {
      const tr = document.createElement("tr");
      const cells = [
        [showMoment(change.changed_at), ""],
        [fieldNames[change.field] || change.field, ""],
        [showQuantity(change.old_value), "number"],
        [showQuantity(change.new_value), "number"],
        [change.changed_by, ""],
      ];
      for (const [text, kind] of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        if (kind) td.className = kind;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    const empty = document.getElementById("schedule-history-empty");
    empty.textContent = texts.no_history;
    empty.hidden = history.items.length > 0;
    panel.hidden = false;
    panel.focus();
  }

  // --- the cards --------------------------------------------------------------------------------
  function dayAfter(text) {
    const day = new Date(`${text}T00:00:00Z`);
    day.setUTCDate(day.getUTCDate() + 1);
    return day.toISOString().slice(0, 10);
  }
  function renderCards(cards) {
    const list = document.getElementById("schedule-cards");
    if (!list || !cards) return;
    const money = (text) => moneyFormat.format(Number(text));
    const entries = [
      ["card-total", texts.card_total, cards.total],
      ["card-current", say("card_current", { cutoff: showDate(cards.current_cutoff) }), cards.current],
      ["card-next", say("card_next", {
        first: showDate(dayAfter(cards.current_cutoff)), cutoff: showDate(cards.next_cutoff),
      }), cards.next],
      ["card-not-needed", texts.card_not_needed, cards.not_needed],
    ];
    list.replaceChildren();
    for (const [id, label, value] of entries) {
      const item = document.createElement("div");
      item.id = id;
      const term = document.createElement("dt");
      term.textContent = label;
      const figure = document.createElement("dd");
      figure.textContent = `${money(value.at_cost)} `;
      const costNote = document.createElement("small");
      costNote.className = "inline";
      costNote.textContent = texts.at_cost;
      const priceNote = document.createElement("small");
      priceNote.textContent = `${money(value.at_price)} ${texts.at_price}`;
      figure.append(costNote, priceNote);
      item.append(term, figure);
      list.appendChild(item);
    }
    if (cards.unpriced_skus && cards.unpriced_skus.length) {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = say("unpriced", { skus: cards.unpriced_skus.join(", ") });
      list.after(note);
    }
  }

  // --- the grid ---------------------------------------------------------------------------------
  const grid = window.agGrid.createGrid(box, {
    styleNonce: nonce, // the page's CSP lets in only styles carrying this response's nonce
    localeText: language === "es" ? window.AG_GRID_LOCALE_ES : undefined,
    columnDefs,
    defaultColDef: {
      sortable: true, resizable: true, filter: true, wrapHeaderText: true, autoHeaderHeight: true,
    },
    rowHeight: 40,
    headerHeight: 44,
    singleClickEdit: true,
    stopEditingWhenCellsLoseFocus: true,
    tooltipShowDelay: 300,
    // Every column is drawn, not only those in view: the planner's browser search finds any
    // figure, and a few thousand lines stay quick.
    suppressColumnVirtualisation: true,
    getRowId: (params) => String(params.data.so_line_id),
    overlayNoRowsTemplate: `<span>${(refused ? texts.filters_refused : texts.no_rows) || ""}</span>`,
    onFilterChanged: updateTotals,
    onRowDataUpdated: updateTotals,
    onCellEditingStarted: (event) => {
      if (!event.node.rowPinned) editing = { id: event.node.id, field: event.colDef.field };
    },
    onCellEditingStopped: (event) => {
      // Her value, if changed, is already on its way (cellValueChanged comes first).
      editing = null;
      if (!event.node.rowPinned) release(event.node.id);
    },
    onCellValueChanged: (event) => {
      if (event.source !== "edit" || event.node.rowPinned) return;
      if ((event.newValue ?? null) === (event.oldValue ?? null)) return;
      refreshRow(event.node); // the money columns follow the typed quantity at once
      const { node } = event;
      const field = event.colDef.field;
      enqueue(node.data.so_line_id, () => save(node, field, event.newValue ?? null, event.oldValue ?? null));
    },
  });

  // Every page of the lines of the page's filters (and `extra`); null when the API refused or
  // could not be reached (`onRefusal` is told why). `onFirst` gets the first page's answer.
  async function readLines(extra, onFirst, onRefusal) {
    const rows = [];
    for (let offset = 0; ; ) {
      const page = [query, extra, `limit=1000&offset=${offset}`].filter(Boolean).join("&");
      let answer;
      try {
        answer = await fetch(`${API}?${page}`, {
          credentials: "same-origin", headers: { Accept: "application/json" },
        });
      } catch (_) {
        if (onRefusal) onRefusal(0, { detail: document.body.dataset.offline || "offline" });
        return null;
      }
      if (!answer.ok) {
        if (onRefusal) onRefusal(answer.status, await reason(answer));
        return null;
      }
      const found = await answer.json();
      if (offset === 0 && onFirst) onFirst(found);
      rows.push(...found.items);
      offset += found.items.length;
      if (!found.items.length || offset >= found.total) return rows;
    }
  }

  async function load() {
    if (refused) {
      grid.setGridOption("rowData", []); // the page says why, beside the refused filters
      return;
    }
    const error = document.getElementById("schedule-error");
    let first = null;
    grid.setGridOption("loading", true);
    const rows = await readLines("", (found) => { first = found; }, (status, problem) => {
      error.textContent = problem.detail || problem.title || String(status);
      error.hidden = false;
    });
    grid.setGridOption("loading", false);
    grid.setGridOption("rowData", rows || []);
    noteSaves(rows || []);
    loaded = rows !== null;
    if (first) {
      renderCards(first.cards);
      document.getElementById("schedule-count").textContent =
        say("lines_shown", { count: first.total });
    }
    if (loaded) fetchSaved(); // a save made while the lines were being read
  }

  load();
})();
