/* pysetl dashboard: the alerts page (#/alerts), active alerts then past ones.
 *
 * Two tables (GET api/alerts?state=firing, then ?state=resolved), newest
 * first, each paged with a "More" button (next_cursor). A row shows the
 * alert's state, severity, rule, summary and description, its pipeline, the
 * run that made it fire (a link to #/runs/<id>), when it started and ended;
 * its button expands the alert's events (GET api/alerts/<id>: fired,
 * notified, delivery_failed with the redacted error, silenced, rate_limited,
 * resolved), oldest first. Every text is inserted as text.
 */
"use strict";

(function (ui) {
  const { h, append, replace, fmtTime, fmtAgo, api, errorNotice, runHref, pipelineHref } = ui;
  const PAGE = 50;
  const COLUMNS = 8;

  function stateBadge(state) {
    return h("span", { class: `badge alert-${state}`, "data-state": state }, state);
  }

  function eventsTable(events) {
    return h("table", { class: "data events" },
      h("thead", null, h("tr", null, h("th", null, "When"), h("th", null, "What"),
        h("th", null, "Notifier"), h("th", null, "Run"), h("th", null, "Detail"))),
      h("tbody", null, events.length ? events.map((e) => h("tr", { "data-kind": e.kind },
        h("td", null, fmtTime(e.ts)),
        h("td", null, e.kind.replace(/_/g, " ")),
        h("td", null, e.notifier || "—"),
        h("td", { class: "mono" }, e.run_id ? h("a", { href: runHref(e.run_id) }, e.run_id) : "—"),
        h("td", { class: "mono" }, e.detail || "")))
        : h("tr", null, h("td", { colspan: 5, class: "empty" }, "No events."))));
  }

  /** An alert's row and its (hidden until expanded) events row. */
  function alertRows(a, state) {
    const events = h("tr", { class: "alert-events", "data-alert-id": a.id, hidden: true },
      h("td", { colspan: COLUMNS }, h("div", { class: "empty" }, "Loading…")));
    const toggle = h("button", { type: "button", class: "expand", "aria-expanded": "false",
      "aria-label": `Events of alert ${a.id}` }, "▸");
    let loaded = false;
    toggle.addEventListener("click", () => {
      const open = events.hidden;
      events.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      replace(toggle, open ? "▾" : "▸");
      if (!open || loaded || state.destroyed) return;
      loaded = true;
      api(`alerts/${encodeURIComponent(a.id)}`).then((data) => {
        if (!state.destroyed) replace(events.firstChild, eventsTable(data.events));
      }).catch((err) => {
        loaded = false;
        if (!state.destroyed) replace(events.firstChild, errorNotice(err));
      });
    });
    const row = h("tr", { "data-alert-id": a.id, "data-state": a.state },
      h("td", null, toggle),
      h("td", null, stateBadge(a.state), " ", h("span", { class: "muted" }, a.severity)),
      h("td", null, a.rule),
      h("td", { class: "name-cell", tip: a.description || a.summary },
        h("div", { class: "summary" }, a.summary),
        a.description ? h("div", { class: "muted" }, a.description) : null),
      h("td", null, a.pipeline ? h("a", { href: pipelineHref(a.pipeline) }, a.pipeline) : "—",
        a.factory ? h("div", { class: "muted" }, a.factory) : null),
      h("td", { class: "mono" }, a.run_id ? h("a", { href: runHref(a.run_id), class: "run-link" }, a.run_id) : "—"),
      h("td", { tip: fmtTime(a.started_at) }, fmtAgo(a.started_at)),
      h("td", null, a.ended_at ? fmtTime(a.ended_at) : "—"));
    return [row, events];
  }

  /** A panel listing the alerts of one state, a page at a time. */
  function alertsPanel(title, alertState, empty, state) {
    const tbody = h("tbody", null, h("tr", null, h("td", { colspan: COLUMNS, class: "empty" }, "Loading…")));
    const more = h("button", { type: "button", class: "more", hidden: true }, "More");
    const panel = h("div", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", null, title)),
      h("div", { class: "panel-body flush" },
        h("table", { class: "data", id: `alerts-${alertState}` },
          h("thead", null, h("tr", null, h("th", null, ""), h("th", null, "State"), h("th", null, "Rule"),
            h("th", null, "Summary"), h("th", null, "Pipeline"), h("th", null, "Run"),
            h("th", null, "Started"), h("th", null, "Ended"))),
          tbody),
        more));
    let first = true;
    function load(cursor) {
      more.hidden = true;
      api("alerts", { state: alertState, limit: PAGE, cursor }).then((data) => {
        if (state.destroyed) return;
        if (first) {
          first = false;
          replace(tbody);
          if (!data.items.length) append(tbody, h("tr", null, h("td", { colspan: COLUMNS, class: "empty" }, empty)));
        }
        append(tbody, data.items.map((a) => alertRows(a, state)));
        if (data.next_cursor) {
          more.hidden = false;
          more.onclick = () => load(data.next_cursor);
        }
      }).catch((err) => { if (!state.destroyed) replace(tbody, h("tr", null, h("td", { colspan: COLUMNS }, errorNotice(err)))); });
    }
    load(null);
    return panel;
  }

  function alertsView(root) {
    const state = { destroyed: false };
    append(root,
      h("div", { class: "page-head" },
        h("div", null, h("h1", null, "Alerts"),
          h("div", { class: "sub" }, "Firing alerts first, then past ones, newest first; expand a row for its events."))),
      alertsPanel("Active", "firing", "No alert is firing.", state),
      alertsPanel("Past", "resolved", "No past alerts.", state));
    return { destroy() { state.destroyed = true; } };
  }

  ui.alertsView = alertsView;
}(window.pysetlUI));
