/* pysetl dashboard: the errors page (#/errors), failures grouped by fingerprint.
 *
 * One row a group (GET api/errors): its class and normalised message, the
 * factory, how many failures in how many runs, first and last seen, the
 * pipelines, and its daily trend as a small SVG bar chart (one bar a day,
 * UTC, oldest first; a thin line for a day without failures). The window is
 * chosen in the page (?days=1, 7, 30 or 90 in the hash).
 */
"use strict";

(function (ui) {
  const { h, s, append, replace, fmtTime, fmtAgo, api, errorNotice, runHref, pipelineHref, statusColor } = ui;
  const WINDOWS = [[1, "Last 24 hours"], [7, "Last 7 days"], [30, "Last 30 days"], [90, "Last 90 days"]];
  const BAR = 6;
  const GAP = 1;
  const HEIGHT = 22;

  /** The daily trend of a group: a bar a day, as high as its share of the busiest. */
  function trendChart(trend) {
    const top = Math.max(1, ...trend.map((d) => d.count));
    const width = trend.length * (BAR + GAP);
    const total = trend.reduce((sum, d) => sum + d.count, 0);
    const svg = s("svg", { class: "trend", width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`,
      role: "img", "aria-label": `${total} failures over ${trend.length} days` });
    const color = statusColor("failed");
    trend.forEach((d, i) => {
      const high = d.count ? Math.max(2, Math.round((d.count / top) * HEIGHT)) : 1;
      svg.appendChild(s("rect", { x: i * (BAR + GAP), y: HEIGHT - high, width: BAR, height: high,
        fill: d.count ? color : "#d0d5dd", "data-count": d.count },
      s("title", null, `${d.day}: ${d.count}`)));
    });
    return svg;
  }

  function errorsView(root, query) {
    const days = Number(query.get("days")) || 7;
    const windowSel = h("select", { "aria-label": "Window", name: "days" },
      WINDOWS.map(([v, label]) => h("option", { value: v }, label)));
    windowSel.value = String(days);
    windowSel.addEventListener("change", () => { location.hash = `#/errors?days=${windowSel.value}`; });
    const body = h("div", { class: "panel-body flush" }, h("div", { class: "empty" }, "Loading…"));
    append(root,
      h("div", { class: "page-head" },
        h("div", null, h("h1", null, "Errors"),
          h("div", { class: "sub" }, "Failures grouped by fingerprint, the latest first; one bar a day (UTC)."))),
      h("div", { class: "panel" },
        h("div", { class: "toolbar" }, h("label", null, "Window", windowSel)),
        body));
    let destroyed = false;
    api("errors", { days }).then((data) => {
      if (destroyed) return;
      replace(body, h("table", { class: "data", id: "errors-table" },
        h("thead", null, h("tr", null, h("th", null, "Error"), h("th", null, "Factory"),
          h("th", { class: "num" }, "Count"), h("th", { class: "num" }, "Runs"),
          h("th", null, "First seen"), h("th", null, "Last seen"), h("th", null, "Pipelines"),
          h("th", null, "Trend"))),
        h("tbody", null, data.items.length ? data.items.map((g) => h("tr", { "data-fingerprint": g.fingerprint },
          h("td", { class: "name-cell", tip: `${g.error_class}: ${g.title}${g.hint ? `\nhint: ${g.hint}` : ""}` },
            h("div", null, h("strong", null, g.error_class), ": ", g.title),
            h("div", { class: "muted mono" }, g.fingerprint, g.hint ? ` · ${g.hint}` : "")),
          h("td", null, g.factory || "—"),
          h("td", { class: "num" }, g.count),
          h("td", { class: "num" }, g.runs),
          h("td", null, fmtTime(g.first_seen)),
          h("td", null, h("a", { href: runHref(g.last_run_id) }, fmtAgo(g.last_seen))),
          h("td", null, g.pipelines.map((p, i) => [i ? ", " : "", h("a", { href: pipelineHref(p) }, p)])),
          h("td", null, trendChart(g.trend))))
          : h("tr", null, h("td", { colspan: 8, class: "empty" }, "No failures in this window.")))));
    }).catch((err) => { if (!destroyed) replace(body, errorNotice(err)); });
    return { destroy() { destroyed = true; } };
  }

  ui.errorsView = errorsView;
  ui.trendChart = trendChart;
}(window.pysetlUI));
