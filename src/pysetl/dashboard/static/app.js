/* pysetl dashboard: a single-page app over the run history's JSON API (entry point).
 *
 * No framework and no external files: the DOM is built with createElement and
 * textContent only, so every string from the history (factory names, error
 * messages, log lines) shows as text and can never run as markup or script.
 * Charts, the pipeline graph and the Gantt timeline are hand-written SVG.
 *
 * Routes (location.hash):
 *   #/                      runs list (filters in the query: ?pipeline=&status=&range=&host=)
 *   #/runs/<run_id>         run detail, live while the run is running (SSE)
 *   #/pipelines             pipelines
 *   #/pipelines/<name>      history charts of one pipeline
 *   #/errors                failures grouped by fingerprint (?days=), a trend each
 *   #/alerts                firing alerts, then past ones; each expands to its events
 *   #/project[/<name>]      the project's pipelines from their code, by stage (project.js)
 *   #/api                   the JSON API's endpoints (from /openapi.json)
 */
"use strict";

(function (ui) {
  const { STATUSES, RANGES, RANGE_SECONDS, REFRESH_MS, h, append, clear, replace, initTooltip,
    fmtTime, fmtAgo, fmtDuration, errorSummary, badge, staleMark, ApiError, qs, api, errorNotice, runHref,
    pipelineHref, runView, chartsView, pipelinesView, errorsView, alertsView, projectView } = ui;

  /* ------------------------------------------------------------ runs list */

  function factoryMini(f) {
    const total = (f && f.total) || 0;
    const part = (n, cls) => (n > 0 && total > 0
      ? h("span", { class: cls, style: null, "data-w": n / total }) : null);
    const bar = h("div", { class: "mini" },
      part(f && f.succeeded, "fill-succeeded"),
      part(f && f.failed, "fill-failed"),
      part(f && f.running, "fill-running"));
    for (const span of bar.children) span.style.width = `${Number(span.getAttribute("data-w")) * 100}%`;
    const done = ((f && f.succeeded) || 0) + ((f && f.failed) || 0);
    return h("div", { class: "mini-wrap", tip: f ? `${f.succeeded} succeeded, ${f.failed} failed, ${f.running} running of ${f.total}` : "" },
      bar, h("span", { class: "count" }, `${done}/${total}`));
  }

  function runsView(root, query) {
    const state = {
      pipeline: query.get("pipeline") || "",
      status: query.get("status") || "",
      range: query.get("range") || "",
      host: query.get("host") || "",
      cursors: [null],
      page: 0,
      auto: true,
      timer: null,
      aborter: null,
      destroyed: false,
    };

    // The address's pipeline shows at once, before the list of pipelines comes.
    const pipelineSel = h("select", { "aria-label": "Pipeline", name: "pipeline" }, h("option", { value: "" }, "All pipelines"),
      state.pipeline ? h("option", { value: state.pipeline }, state.pipeline) : null);
    pipelineSel.value = state.pipeline;
    const statusSel = h("select", { "aria-label": "Status", name: "status" },
      h("option", { value: "" }, "Any status"), STATUSES.map((st) => h("option", { value: st }, st)));
    const rangeSel = h("select", { "aria-label": "Time range", name: "range" },
      RANGES.map(([v, label]) => h("option", { value: v }, label)));
    const hostBox = h("input", { type: "search", name: "host", "aria-label": "Host", placeholder: "any host", size: 14 });
    statusSel.value = state.status;
    rangeSel.value = state.range;
    hostBox.value = state.host;
    const autoBox = h("input", { type: "checkbox", checked: true, name: "auto" });
    const tbody = h("tbody");
    const info = h("span", { class: "info" });
    const newer = h("button", { type: "button", "data-action": "newer" }, "← Newer");
    const older = h("button", { type: "button", "data-action": "older" }, "Older →");
    const notice = h("div");
    const cards = h("div", { class: "cards", id: "pipeline-cards" });

    append(root,
      h("div", { class: "page-head" },
        h("div", null, h("h1", null, "Runs"), h("div", { class: "sub" }, "Every run in the history, newest first."))),
      cards,
      notice,
      h("div", { class: "panel" },
        h("div", { class: "toolbar" },
          h("label", null, "Pipeline", pipelineSel),
          h("label", null, "Status", statusSel),
          h("label", null, "Started", rangeSel),
          h("label", null, "Host", hostBox),
          h("span", { class: "spacer" }),
          h("label", { class: "toggle" }, autoBox, "Auto-refresh")),
        h("div", { class: "panel-body flush" },
          h("table", { class: "data", id: "runs-table" },
            h("thead", null, h("tr", null,
              h("th", null, "Status"), h("th", null, "Run"), h("th", null, "Pipeline"),
              h("th", null, "Started"), h("th", { class: "num" }, "Duration"),
              h("th", null, "Factories"), h("th", null, "Host"), h("th", null, "Error"))),
            tbody)),
        h("div", { class: "pager" }, info, newer, older)));

    function syncHash() {
      const q = qs({ pipeline: state.pipeline, status: state.status, range: state.range, host: state.host });
      history.replaceState(null, "", `#/${q}`);
    }

    function onFilter() {
      state.pipeline = pipelineSel.value;
      state.status = statusSel.value;
      state.range = rangeSel.value;
      state.host = hostBox.value.trim();
      state.cursors = [null];
      state.page = 0;
      syncHash();
      load();
    }
    pipelineSel.addEventListener("change", onFilter);
    statusSel.addEventListener("change", onFilter);
    rangeSel.addEventListener("change", onFilter);
    hostBox.addEventListener("change", onFilter);
    autoBox.addEventListener("change", () => { state.auto = autoBox.checked; schedule(); });
    newer.addEventListener("click", () => { if (state.page > 0) { state.page -= 1; load(); } });
    older.addEventListener("click", () => {
      if (state.cursors[state.page + 1]) { state.page += 1; load(); }
    });

    function row(run) {
      const err = run.error;
      const open = (event) => {
        if (!(event.target instanceof Element) || !event.target.closest("a")) location.hash = runHref(run.run_id);
      };
      return h("tr", { "data-run-id": run.run_id, "data-status": run.status, class: "clickable", onclick: open },
        h("td", null, badge(run.status), run.stale ? staleMark(run) : null),
        h("td", { class: "mono" }, h("a", { href: runHref(run.run_id) }, run.run_id)),
        h("td", { class: "name-cell" }, h("a", { href: pipelineHref(run.pipeline) }, run.pipeline)),
        h("td", { class: "nowrap", tip: fmtAgo(run.started_at) }, fmtTime(run.started_at)),
        h("td", { class: "num" }, run.duration !== null && run.duration !== undefined
          ? fmtDuration(run.duration)
          : (run.status === "running" && !run.stale ? fmtDuration(Date.now() / 1000 - run.started_at) : "–")),
        h("td", null, factoryMini(run.factories)),
        h("td", { class: "muted nowrap" }, run.host
          ? h("a", { class: "host-link", href: `#/${qs({ host: run.host })}`, tip: "Runs of this host" }, run.host) : ""),
        h("td", { class: "err", tip: err ? `${err.type}: ${err.message}` : null }, errorSummary(err)));
    }

    async function load() {
      if (state.aborter) state.aborter.abort();
      state.aborter = new AbortController();
      const since = RANGE_SECONDS[state.range] ? Date.now() / 1000 - RANGE_SECONDS[state.range] : null;
      try {
        const page = await api("runs", {
          pipeline: state.pipeline, status: state.status, since, host: state.host,
          cursor: state.cursors[state.page], limit: 25,
        }, state.aborter.signal);
        if (state.destroyed) return;
        replace(notice);
        state.cursors[state.page + 1] = page.next_cursor || null;
        state.cursors.length = state.page + 2;
        replace(tbody, page.items.length
          ? page.items.map(row)
          : h("tr", null, h("td", { colspan: 8, class: "empty" }, "No runs match these filters.")));
        info.textContent = page.items.length
          ? `Page ${state.page + 1} · ${page.items.length} run${page.items.length === 1 ? "" : "s"}`
          : "";
        newer.disabled = state.page === 0;
        older.disabled = !page.next_cursor;
        tbody.setAttribute("data-loaded", String(Date.now()));
      } catch (err) {
        if (err.name === "AbortError" || state.destroyed) return;
        replace(notice, errorNotice(err));
      }
      schedule();
    }

    function schedule() {
      clearTimeout(state.timer);
      if (state.auto && !state.destroyed) {
        state.timer = setTimeout(() => { load(); loadPipelines(); }, REFRESH_MS);
      }
    }

    async function loadPipelines() {
      try {
        const data = await api("pipelines");
        if (state.destroyed) return;
        const chosen = pipelineSel.value || state.pipeline;
        replace(pipelineSel, h("option", { value: "" }, "All pipelines"),
          data.items.map((p) => h("option", { value: p.pipeline }, p.pipeline)));
        if (chosen && !data.items.some((p) => p.pipeline === chosen)) {
          pipelineSel.appendChild(h("option", { value: chosen }, chosen));
        }
        pipelineSel.value = chosen;
        replace(cards, data.items.slice(0, 6).map((p) =>
          h("a", { class: "card link", href: pipelineHref(p.pipeline), "data-pipeline": p.pipeline },
            h("div", { class: "label" }, "Pipeline"),
            h("div", { class: "title", tip: p.pipeline }, p.pipeline),
            h("div", { class: "sub muted" }, badge(p.last_status), " ",
              `${p.runs} run${p.runs === 1 ? "" : "s"} · ${fmtAgo(p.last_started_at)}`))));
      } catch (_err) { /* the runs table shows the error */ }
    }

    loadPipelines();
    load();
    return {
      destroy() {
        state.destroyed = true;
        clearTimeout(state.timer);
        if (state.aborter) state.aborter.abort();
      },
    };
  }

  /* ------------------------------------------------------------------ API */

  function apiView(root) {
    const body = h("div", { class: "panel" }, h("div", { class: "empty" }, "Loading…"));
    append(root,
      h("div", { class: "page-head" }, h("div", null, h("h1", null, "JSON API"),
        h("div", { class: "sub" }, h("span", null, "The page itself uses this API. The full schema: ",
          h("a", { href: "openapi.json" }, "openapi.json"), ".")))),
      body);
    fetch("openapi.json", { credentials: "same-origin" })
      .then((r) => { if (!r.ok) throw new ApiError(r.status, r.statusText); return r.json(); })
      .then((spec) => {
        const rows = [];
        for (const [path, ops] of Object.entries(spec.paths || {})) {
          for (const [method, op] of Object.entries(ops)) {
            rows.push(h("div", { class: "endpoint" },
              h("span", { class: "method" }, method.toUpperCase()),
              h("code", null, path),
              h("span", { class: "muted" }, (op.description || "").split("\n")[0] || op.summary || "")));
          }
        }
        replace(body, h("div", { class: "panel-head" }, h("h2", null, `${spec.info ? spec.info.title : "API"} ${spec.info ? spec.info.version : ""}`)),
          rows.length ? rows : h("div", { class: "empty" }, "No endpoints."));
      })
      .catch((err) => replace(body, errorNotice(err)));
    return { destroy() {} };
  }

  /* --------------------------------------------------------------- router */

  const app = () => document.getElementById("app");
  let current = null; // the mounted view: {destroy()}

  function parseHash() {
    const raw = location.hash.replace(/^#/, "") || "/";
    const [path, query] = raw.split("?");
    const parts = path.split("/").filter(Boolean).map((p) => {
      try { return decodeURIComponent(p); } catch (_err) { return p; }
    });
    return { parts, query: new URLSearchParams(query || "") };
  }

  function route() {
    if (current && current.destroy) current.destroy();
    document.title = "pysetl dashboard";
    current = null;
    const { parts, query } = parseHash();
    const root = clear(app());
    let nav = "runs";
    if (parts[0] === "runs" && parts[1]) current = runView(root, parts.slice(1).join("/"));
    else if (parts[0] === "pipelines" && parts[1]) {
      nav = "pipelines";
      current = chartsView(root, parts.slice(1).join("/"));
    } else if (parts[0] === "pipelines") {
      nav = "pipelines";
      current = pipelinesView(root);
    } else if (parts[0] === "errors") {
      nav = "errors";
      current = errorsView(root, query);
    } else if (parts[0] === "project") {
      nav = "project";
      current = projectView(root, parts.slice(1).join("/") || null);
    } else if (parts[0] === "alerts") {
      nav = "alerts";
      current = alertsView(root);
    } else if (parts[0] === "api") {
      nav = "api";
      current = apiView(root);
    } else current = runsView(root, query);
    for (const a of document.querySelectorAll("[data-nav]")) {
      a.classList.toggle("active", a.getAttribute("data-nav") === nav);
    }
    window.scrollTo(0, 0);
  }

  /* --------------------------------------------------------------- health */

  async function loadHealth() {
    const box = document.getElementById("health");
    try {
      const data = await api("health");
      replace(box, h("span", { class: "dot ok" }),
        h("span", null, `v${data.version}`),
        h("span", { class: "mono", tip: "Run history" }, data.history || ""));
    } catch (err) {
      replace(box, h("span", { class: "dot down" }),
        h("span", null, err.status === 401 ? "token required" : "offline"));
    }
  }

  /* ----------------------------------------------------------------- boot */

  function boot() {
    // A token given in the address (?token=...) has become a cookie: drop it from the bar.
    if (new URLSearchParams(location.search).has("token")) {
      history.replaceState(null, "", `${location.pathname}${location.hash}`);
    }
    initTooltip();
    window.addEventListener("hashchange", route);
    route();
    loadHealth();
    setInterval(loadHealth, 30000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
}(window.pysetlUI));
