// Reorder planning: every item in an AG Grid; reorder point and quantity are edited in place and
// each change is saved at once through the JSON API (PATCH /api/inventory/v1/items/{sku}).
// A refused value goes back to what it was, with the service's reason (in the user's language).
"use strict";

(function () {
  const box = document.getElementById("reorder-grid");
  if (!box || !window.agGrid) return;
  const texts = JSON.parse(box.dataset.texts || "{}");
  const nonce = (document.querySelector('meta[name="csp-nonce"]') || {}).content;
  const language = document.documentElement.lang || "en";
  // Quantities arrive as exact decimal strings ("25.0000"); shown without trailing zeros.
  const quantity = (params) =>
    params.value == null || params.value === "" ? "" : Number(params.value).toLocaleString(language);
  const editable = {
    editable: true, cellClass: "editable", type: "rightAligned", valueFormatter: quantity,
  };

  async function save(event) {
    const field = event.colDef.field;
    const body = {};
    body[field] = String(event.newValue ?? "").trim();
    const answer = await window.portal.send(
      "PATCH", `/api/inventory/v1/items/${encodeURIComponent(event.data.sku)}`, body
    );
    if (answer.ok) {
      const saved = await answer.json();
      event.node.setData(saved);
      window.portal.toast((texts.saved || "Saved {sku}.").replace("{sku}", event.data.sku));
      return;
    }
    let reason = `${answer.status}`;
    try {
      const problem = await answer.json();
      reason = problem.detail || problem.title || reason;
    } catch (_) { /* not JSON */ }
    event.node.setDataValue(field, event.oldValue, "refused"); // not an edit: not saved again
    window.portal.toast(reason);
  }

  const grid = window.agGrid.createGrid(box, {
    styleNonce: nonce, // the page's CSP lets in only styles carrying this response's nonce
    localeText: language === "es" ? window.AG_GRID_LOCALE_ES : undefined, // menus, filters
    columnDefs: [
      { field: "sku", headerName: texts.sku, pinned: "left", width: 170 },
      { field: "name", headerName: texts.name, flex: 1, minWidth: 200 },
      { field: "item_type", headerName: texts.item_type, width: 130 },
      { field: "uom", headerName: texts.uom, width: 90 },
      { field: "reorder_point", headerName: texts.reorder_point, width: 160, ...editable },
      { field: "reorder_qty", headerName: texts.reorder_qty, width: 170, ...editable },
    ],
    defaultColDef: { sortable: true, filter: true, resizable: true },
    rowHeight: 44,
    headerHeight: 44,
    singleClickEdit: true,
    stopEditingWhenCellsLoseFocus: true,
    getRowId: (params) => params.data.sku,
    overlayLoadingTemplate: `<span>${texts.loading || "…"}</span>`,
    overlayNoRowsTemplate: `<span>${texts.no_rows || ""}</span>`,
    onCellValueChanged: (event) => {
      if (event.source === "edit" && event.newValue !== event.oldValue) save(event);
    },
  });

  fetch("/api/inventory/v1/items?limit=1000&sort=sku", {
    credentials: "same-origin", headers: { Accept: "application/json" },
  })
    .then((answer) => answer.json())
    .then((page) => grid.setGridOption("rowData", page.items || []));
})();
