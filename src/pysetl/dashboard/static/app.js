/* pysetl dashboard: a small single-page app over the run history's JSON API.
 *
 * No framework and no external files: the DOM is built with createElement and
 * textContent only, so every string from the history (factory names, error
 * messages, log lines) shows as text and can never run as markup or script.
 * Charts, the pipeline graph and the Gantt timeline are hand-written SVG.
 *
 * Routes (location.hash):
 *   #/                      runs list (filters in the query: ?pipeline=&status=&range=)
 *   #/runs/<run_id>         run detail, live while the run is running (SSE)
 *   #/pipelines             pipelines
 *   #/pipelines/<name>      history charts of one pipeline
 *   #/api                   the JSON API's endpoints (from /openapi.json)
 */
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const STATUSES = ["running", "succeeded", "failed", "crashed"];
  const PHASES = ["read", "process", "write", "get"];
  const PALETTE = [
    "#3b6fe0", "#16b364", "#f79009", "#7a5af8", "#ee46bc",
    "#06aed4", "#d92d20", "#669f2a", "#875bf7", "#98a2b3",
  ];
  const RANGES = [
    ["", "Any time"],
    ["1h", "Last hour"],
    ["24h", "Last 24 hours"],
    ["7d", "Last 7 days"],
    ["30d", "Last 30 days"],
  ];
  const RANGE_SECONDS = { "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000 };
  const LOG_PAGE = 200;
  const LOG_KEEP = 2000; // lines kept in the page while tailing
  const REFRESH_MS = 5000;

  /* ---------------------------------------------------------------- DOM */

  /** Create an HTML element; strings and numbers among children become text nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  /** Create an SVG element. */
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.setAttribute("class", value);
      else if (key === "text") el.textContent = String(value);
      else if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2), value);
      } else if (key === "tip") setTip(el, value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }

  function append(el, ...children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.appendChild(
        child instanceof Node ? child : document.createTextNode(String(child)),
      );
    }
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  function replace(el, ...children) {
    clear(el);
    append(el, children);
    return el;
  }

  /* ------------------------------------------------------------ tooltip */

  const tipText = new WeakMap();
  let tipEl = null;

  /** Attach a tooltip (custom on hover, and a native <title> inside SVG). */
  function setTip(el, text) {
    tipText.set(el, String(text));
    el.setAttribute("data-tip", "");
    if (el instanceof SVGElement) el.appendChild(s("title", null, String(text)));
  }

  function initTooltip() {
    tipEl = h("div", { class: "tip", hidden: true, role: "tooltip" });
    document.body.appendChild(tipEl);
    document.addEventListener("mouseover", (event) => {
      const target = event.target instanceof Element ? event.target.closest("[data-tip]") : null;
      if (!target || !tipText.has(target)) {
        tipEl.hidden = true;
        return;
      }
      tipEl.textContent = tipText.get(target);
      tipEl.hidden = false;
    });
    document.addEventListener("mousemove", (event) => {
      if (tipEl.hidden) return;
      const pad = 14;
      let x = event.clientX + pad;
      let y = event.clientY + pad;
      const box = tipEl.getBoundingClientRect();
      if (x + box.width > window.innerWidth - 8) x = event.clientX - box.width - pad;
      if (y + box.height > window.innerHeight - 8) y = event.clientY - box.height - pad;
      tipEl.style.left = `${Math.max(4, x)}px`;
      tipEl.style.top = `${Math.max(4, y)}px`;
    });
    document.addEventListener("scroll", () => { tipEl.hidden = true; }, true);
  }

  /* ---------------------------------------------------------- formatting */

  const pad2 = (n) => String(n).padStart(2, "0");

  function fmtTime(epoch) {
    if (epoch === null || epoch === undefined) return "–";
    const d = new Date(epoch * 1000);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
      `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  function fmtClock(epoch) {
    const d = new Date(epoch * 1000);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.` +
      String(d.getMilliseconds()).padStart(3, "0");
  }

  function fmtShortDate(epoch) {
    const d = new Date(epoch * 1000);
    return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  }

  function fmtAgo(epoch) {
    if (!epoch) return "";
    const sec = Math.max(0, Date.now() / 1000 - epoch);
    if (sec < 60) return "just now";
    if (sec < 3600) return `${Math.floor(sec / 60)} min ago`;
    if (sec < 86400) return `${Math.floor(sec / 3600)} h ago`;
    return `${Math.floor(sec / 86400)} d ago`;
  }

  function fmtDuration(sec) {
    if (sec === null || sec === undefined || Number.isNaN(sec)) return "–";
    if (sec < 1) return `${Math.round(sec * 1000)} ms`;
    if (sec < 60) return `${sec.toFixed(sec < 10 ? 2 : 1)} s`;
    const m = Math.floor(sec / 60);
    if (m < 60) return `${m}m ${pad2(Math.floor(sec % 60))}s`;
    return `${Math.floor(m / 60)}h ${pad2(m % 60)}m`;
  }

  /** An offset on an axis spanning ``span`` seconds, precise enough to tell ticks apart. */
  function fmtOffset(sec, span) {
    if (span < 0.01) return `${(sec * 1000).toFixed(2)} ms`;
    if (span < 0.1) return `${(sec * 1000).toFixed(1)} ms`;
    if (span < 2) return `${Math.round(sec * 1000)} ms`;
    if (span < 120) return `${Number(sec.toFixed(1))} s`;
    return fmtDuration(sec);
  }

  /** A run's start on a chart's x axis: the date only when the runs span days. */
  function fmtAxisTime(epoch, span) {
    const d = new Date(epoch * 1000);
    if (span < 86400) return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
    return fmtShortDate(epoch);
  }

  function fmtBytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let v = Math.abs(n);
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return `${n < 0 ? "-" : ""}${v.toFixed(v >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
  }

  function fmtNumber(n) {
    if (n === null || n === undefined) return "–";
    if (typeof n !== "number") return String(n);
    const abs = Math.abs(n);
    if (abs >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
    if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
    if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
    if (Number.isInteger(n)) return String(n);
    return n.toPrecision(4).replace(/\.?0+$/, "");
  }

  function fmtPercent(x) {
    return x === null || x === undefined ? "–" : `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;
  }

  /** Format a metric by the convention of its name. */
  function fmtMetric(name, value) {
    if (typeof value !== "number") return value === null || value === undefined ? "–" : String(value);
    if (/bytes/.test(name)) return fmtBytes(value);
    if (/(seconds|duration|_time)$/.test(name) || /\.seconds|_seconds/.test(name)) return fmtDuration(value);
    return fmtNumber(value);
  }

  /** One line about an error: its innermost cause (what went wrong), else itself. */
  function errorSummary(err) {
    if (!err) return "";
    const causes = err.context && Array.isArray(err.context.causes) ? err.context.causes : [];
    const root = causes.length ? causes[causes.length - 1] : null;
    const type = root ? root.error_type || root.type || err.type : err.type;
    const message = String((root ? root.message : err.message) || "").split("\n")[0];
    return `${err.factory ? `${err.factory}: ` : ""}${type}: ${message}`;
  }

  function badge(status) {
    const st = status || "pending";
    return h("span", { class: `badge status-${st}`, "data-status": st }, st);
  }

  function statusColor(status) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(`--${status || "pending"}`);
    return v.trim() || "#98a2b3";
  }

  /* ------------------------------------------------------------------ API */

  class ApiError extends Error {
    constructor(status, message, hint) {
      super(message);
      this.status = status;
      this.hint = hint || null;
    }
  }

  function qs(params) {
    const out = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== null && v !== undefined && v !== "") out.set(k, String(v));
    }
    const text = out.toString();
    return text ? `?${text}` : "";
  }

  async function api(path, params, signal) {
    let response;
    try {
      response = await fetch(`api/${path}${qs(params)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal,
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError(0, "The dashboard server cannot be reached.", "Is `pysetl ui` still running?");
    }
    let body = null;
    try { body = await response.json(); } catch (_err) { body = null; }
    if (!response.ok) {
      let message = response.statusText || `HTTP ${response.status}`;
      let hint = null;
      if (body && typeof body === "object") {
        const detail = body.detail;
        if (typeof body.message === "string") message = body.message;
        else if (typeof body.error === "string") message = body.error;
        else if (typeof detail === "string") message = detail;
        else if (detail && typeof detail === "object" && !Array.isArray(detail)) {
          message = detail.message || detail.error || message;
          hint = detail.hint || null;
        } else if (Array.isArray(detail) && detail.length) {
          message = detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
        }
        hint = body.hint || hint;
      }
      if (response.status === 401) authRequired = true;
      throw new ApiError(response.status, message, hint);
    }
    return body;
  }

  let authRequired = false;

  function errorNotice(err) {
    if (err instanceof ApiError && err.status === 401) return loginPanel(err);
    return h("div", { class: "notice error", role: "alert" },
      h("strong", null, err instanceof ApiError && err.status ? `Error ${err.status}: ` : "Error: "),
      err.message || String(err),
      err instanceof ApiError && err.hint ? h("div", { class: "hint" }, err.hint) : null);
  }

  function loginPanel(err) {
    // A script navigation, not a <form>: the CSP says form-action 'none'.
    const input = h("input", { type: "password", name: "token", placeholder: "token", "aria-label": "token", autocomplete: "off" });
    const open = () => {
      if (input.value) location.href = `./?token=${encodeURIComponent(input.value)}`;
    };
    input.addEventListener("keydown", (event) => { if (event.key === "Enter") open(); });
    const form = h("div", { class: "login-form" }, input, h("button", { type: "button", class: "primary", onclick: open }, "Open"));
    return h("div", { class: "panel login" },
      h("div", { class: "panel-head" }, h("h2", null, "This dashboard needs a token")),
      h("div", { class: "panel-body" },
        h("p", { class: "muted" }, err.message || "Authentication required."),
        err.hint ? h("div", { class: "hint" }, err.hint) : null,
        form));
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
    } else if (parts[0] === "api") {
      nav = "api";
      current = apiView(root);
    } else current = runsView(root, query);
    for (const a of document.querySelectorAll("[data-nav]")) {
      a.classList.toggle("active", a.getAttribute("data-nav") === nav);
    }
    window.scrollTo(0, 0);
  }

  const runHref = (id) => `#/runs/${encodeURIComponent(id)}`;
  const pipelineHref = (name) => `#/pipelines/${encodeURIComponent(name)}`;

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
      cursors: [null],
      page: 0,
      auto: true,
      timer: null,
      aborter: null,
      destroyed: false,
    };

    const pipelineSel = h("select", { "aria-label": "Pipeline", name: "pipeline" }, h("option", { value: "" }, "All pipelines"));
    const statusSel = h("select", { "aria-label": "Status", name: "status" },
      h("option", { value: "" }, "Any status"), STATUSES.map((st) => h("option", { value: st }, st)));
    const rangeSel = h("select", { "aria-label": "Time range", name: "range" },
      RANGES.map(([v, label]) => h("option", { value: v }, label)));
    statusSel.value = state.status;
    rangeSel.value = state.range;
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
      const q = qs({ pipeline: state.pipeline, status: state.status, range: state.range });
      history.replaceState(null, "", `#/${q}`);
    }

    function onFilter() {
      state.pipeline = pipelineSel.value;
      state.status = statusSel.value;
      state.range = rangeSel.value;
      state.cursors = [null];
      state.page = 0;
      syncHash();
      load();
    }
    pipelineSel.addEventListener("change", onFilter);
    statusSel.addEventListener("change", onFilter);
    rangeSel.addEventListener("change", onFilter);
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
        h("td", null, badge(run.status)),
        h("td", { class: "mono" }, h("a", { href: runHref(run.run_id) }, run.run_id)),
        h("td", { class: "name-cell" }, h("a", { href: pipelineHref(run.pipeline) }, run.pipeline)),
        h("td", { class: "nowrap", tip: fmtAgo(run.started_at) }, fmtTime(run.started_at)),
        h("td", { class: "num" }, run.duration !== null && run.duration !== undefined
          ? fmtDuration(run.duration)
          : (run.status === "running" ? fmtDuration(Date.now() / 1000 - run.started_at) : "–")),
        h("td", null, factoryMini(run.factories)),
        h("td", { class: "muted nowrap" }, run.host || ""),
        h("td", { class: "err", tip: err ? `${err.type}: ${err.message}` : null }, errorSummary(err)));
    }

    async function load() {
      if (state.aborter) state.aborter.abort();
      state.aborter = new AbortController();
      const since = RANGE_SECONDS[state.range] ? Date.now() / 1000 - RANGE_SECONDS[state.range] : null;
      try {
        const page = await api("runs", {
          pipeline: state.pipeline, status: state.status, since,
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

  /* ------------------------------------------------------------ pipelines */

  function pipelinesView(root) {
    const body = h("div", null, h("div", { class: "empty" }, "Loading…"));
    append(root,
      h("div", { class: "page-head" }, h("div", null, h("h1", null, "Pipelines"),
        h("div", { class: "sub" }, "Open a pipeline for its history charts."))),
      body);
    api("pipelines").then((data) => {
      replace(body, h("div", { class: "panel" }, h("table", { class: "data" },
        h("thead", null, h("tr", null, h("th", null, "Pipeline"), h("th", { class: "num" }, "Runs"),
          h("th", null, "Last status"), h("th", null, "Last run"), h("th", null, "Started"))),
        h("tbody", null, data.items.length ? data.items.map((p) => h("tr", { "data-pipeline": p.pipeline },
          h("td", { class: "name-cell" }, h("a", { href: pipelineHref(p.pipeline) }, p.pipeline)),
          h("td", { class: "num" }, p.runs),
          h("td", null, badge(p.last_status)),
          h("td", { class: "mono" }, h("a", { href: runHref(p.last_run_id) }, p.last_run_id)),
          h("td", null, fmtTime(p.last_started_at))))
          : h("tr", null, h("td", { colspan: 5, class: "empty" }, "No runs recorded yet."))))));
    }).catch((err) => replace(body, errorNotice(err)));
    return { destroy() {} };
  }

  /* ------------------------------------------------------------- run view */

  function runView(root, runId) {
    const st = {
      runId,
      run: null,
      stages: [],
      factories: new Map(), // name -> FactoryOut (latest attempt)
      graph: { nodes: [], edges: [] },
      source: null,
      destroyed: false,
      timers: [],
      nodes: new Map(), // name -> svg group
      renderPending: false,
      spark: { jobs: [] },
    };

    const head = h("div", { class: "page-head" }, h("div", { class: "empty" }, "Loading run…"));
    const notice = h("div");
    const progress = h("div", { class: "progress-row" });
    const graphBody = h("div", { class: "graph-wrap" });
    const sparkPanel = h("div", { class: "panel", id: "spark-panel", hidden: true });
    const errorsPanel = h("div", { class: "panel", id: "errors-panel", hidden: true });
    const timelineBody = h("div", { class: "panel-body" });
    const factoriesBody = h("div", { class: "panel-body flush" });
    const liveBox = h("span", { class: "meta" });
    const logs = logsPanel(runId);

    append(root, head, notice,
      h("div", { class: "panel", id: "graph-panel" },
        h("div", { class: "panel-head" }, h("h2", null, "Pipeline"), liveBox),
        h("div", { class: "panel-body" }, progress),
        graphBody,
        h("div", { class: "legend" }, ["pending", ...STATUSES].map((x) =>
          h("span", null, h("span", { class: `sw fill-${x}`, "data-sw": x }), x)))),
      sparkPanel,
      errorsPanel,
      h("div", { class: "panel", id: "timeline-panel" },
        h("div", { class: "panel-head" }, h("h2", null, "Timeline"),
          h("span", { class: "meta" }, "factories and their phases; hover a bar for details")),
        timelineBody),
      h("div", { class: "panel", id: "factories-panel" },
        h("div", { class: "panel-head" }, h("h2", null, "Factories"),
          h("span", { class: "meta" }, "one row per factory (its last attempt); click a row for all metrics")),
        factoriesBody),
      logs.el);
    for (const sw of root.querySelectorAll("[data-sw]")) {
      if (sw.getAttribute("data-sw") === "pending") sw.style.background = statusColor("pending");
    }

    function keepLatest(f) {
      const old = st.factories.get(f.factory);
      if (!old || (f.attempt || 0) >= (old.attempt || 0)) st.factories.set(f.factory, f);
    }

    async function load() {
      try {
        const data = await api(`runs/${encodeURIComponent(runId)}`);
        if (st.destroyed) return;
        st.run = data.run;
        st.stages = data.stages || [];
        st.graph = data.graph && data.graph.nodes && data.graph.nodes.length
          ? data.graph
          : { nodes: (data.factories || []).map((f) => ({ id: f.factory, stage_id: f.stage_id })), edges: [] };
        st.factories.clear();
        for (const f of data.factories || []) keepLatest(f);
        renderAll();
        if (st.run.status === "running") startLive();
        else { stopLive(); setLive(false); }
      } catch (err) {
        if (st.destroyed) return;
        replace(head);
        replace(notice, errorNotice(err));
      }
    }

    /* ----- live feed */

    function setLive(on, text) {
      replace(liveBox, h("span", { class: `live-pill${on ? "" : " off"}`, id: "live-state", "data-live": on ? "on" : "off" },
        on ? "LIVE" : "FINISHED"), " ", text || "");
    }

    function startLive() {
      if (st.source || st.destroyed || typeof EventSource === "undefined") return;
      const source = new EventSource(`api/runs/${encodeURIComponent(runId)}/stream`, { withCredentials: true });
      st.source = source;
      st.lastEvent = Date.now();
      for (const name of ["open", "run", "factory", "spark", "log"]) {
        source.addEventListener(name, () => { st.lastEvent = Date.now(); });
      }
      setLive(true, "connecting…");
      logs.follow(true);
      source.addEventListener("open", () => setLive(true, "updates as they happen"));
      source.addEventListener("error", () => {
        if (st.source === source) setLive(true, "reconnecting…");
      });
      source.addEventListener("factory", (event) => {
        const f = parse(event);
        if (!f || !f.factory) return;
        keepLatest(f);
        if (!st.graph.nodes.some((n) => n.id === f.factory)) {
          st.graph.nodes.push({ id: f.factory, stage_id: f.stage_id });
          renderGraph();
        } else updateNode(f.factory);
        scheduleRender();
      });
      source.addEventListener("run", (event) => {
        const run = parse(event);
        if (!run) return;
        st.run = run;
        renderHead();
        renderProgress();
      });
      source.addEventListener("spark", (event) => {
        const payload = parse(event);
        if (payload) { st.spark = payload; renderSpark(); }
      });
      source.addEventListener("log", (event) => {
        const line = parse(event);
        if (line) logs.push(line);
      });
      source.addEventListener("end", () => {
        stopLive();
        setLive(false, "run finished");
        st.spark = { jobs: [] };
        renderSpark();
        logs.follow(false);
        load(); // the final stages, errors and metrics
      });
    }

    function stopLive() {
      if (st.source) { st.source.close(); st.source = null; }
    }

    function parse(event) {
      try { return JSON.parse(event.data); } catch (_err) { return null; }
    }

    function scheduleRender() {
      if (st.renderPending) return;
      st.renderPending = true;
      setTimeout(() => {
        st.renderPending = false;
        if (st.destroyed) return;
        renderProgress();
        renderErrors();
        renderTimeline();
        renderFactories();
        logs.factories(st.factories.keys());
      }, 200);
    }

    /* ----- header and progress */

    function renderAll() {
      renderHead();
      renderProgress();
      renderGraph();
      renderSpark();
      renderErrors();
      renderTimeline();
      renderFactories();
      logs.factories(st.graph.nodes.map((n) => n.id));
    }

    function renderHead() {
      const run = st.run;
      if (!run) return;
      document.title = `${run.pipeline} · ${run.status} · pysetl`;
      const duration = run.duration !== null && run.duration !== undefined
        ? run.duration : Date.now() / 1000 - run.started_at;
      replace(head,
        h("div", null,
          h("div", { class: "crumbs" }, h("a", { href: "#/" }, "Runs"), " / ",
            h("a", { href: pipelineHref(run.pipeline) }, run.pipeline)),
          h("div", { class: "run-title" },
            h("h1", { id: "run-pipeline" }, run.pipeline),
            badge(run.status),
            h("span", { class: "mono", id: "run-id" }, run.run_id)),
          h("div", { class: "sub" },
            h("span", null, "Started ", h("strong", null, fmtTime(run.started_at))),
            h("span", null, run.status === "running" ? "Running for " : "Took ",
              h("strong", { id: "run-duration", "data-start": run.started_at }, fmtDuration(duration))),
            run.host ? h("span", null, "Host ", h("strong", null, `${run.host}${run.pid ? ` (pid ${run.pid})` : ""}`)) : null,
            run.config_version ? h("span", null, "Config ", h("code", null, String(run.config_version).slice(0, 12))) : null)),
        h("div", null, h("a", { class: "button", href: pipelineHref(run.pipeline) }, "Pipeline history →")));
    }

    function counts() {
      const c = { total: 0, succeeded: 0, failed: 0, crashed: 0, running: 0 };
      const names = new Set([...st.graph.nodes.map((n) => n.id), ...st.factories.keys()]);
      c.total = names.size;
      for (const f of st.factories.values()) if (f.status in c) c[f.status] += 1;
      if (st.run && st.run.factories && st.run.factories.total > c.total) c.total = st.run.factories.total;
      return c;
    }

    function renderProgress() {
      const c = counts();
      const done = c.succeeded + c.failed + c.crashed;
      const bar = h("div", { class: "progress", id: "run-progress", "data-done": done, "data-total": c.total });
      for (const key of ["succeeded", "failed", "crashed", "running"]) {
        if (!c[key] || !c.total) continue;
        const span = h("span", { class: `fill-${key}` });
        span.style.width = `${(c[key] / c.total) * 100}%`;
        bar.appendChild(span);
      }
      replace(progress, bar, h("span", { class: "label" },
        `${done} of ${c.total} factories done` + (c.failed ? ` · ${c.failed} failed` : "")));
    }

    /* ----- graph */

    function renderGraph() {
      st.nodes.clear();
      const nodes = st.graph.nodes;
      if (!nodes.length) {
        replace(graphBody, h("div", { class: "empty" }, "No factories recorded yet."));
        return;
      }
      const byStage = new Map();
      for (const n of nodes) {
        const key = n.stage_id === null || n.stage_id === undefined ? 0 : n.stage_id;
        if (!byStage.has(key)) byStage.set(key, []);
        byStage.get(key).push(n);
      }
      const stages = [...byStage.keys()].sort((a, b) => a - b);
      const W = 200; const H = 50; const GX = 70; const GY = 18; const TOP = 30; const LEFT = 16;
      const rows = Math.max(...stages.map((k) => byStage.get(k).length));
      const width = LEFT * 2 + stages.length * W + (stages.length - 1) * GX;
      const height = TOP + rows * H + (rows - 1) * GY + 16;
      const pos = new Map();
      const svg = s("svg", { class: "graph", id: "graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Pipeline graph" });
      svg.appendChild(s("defs", null, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        s("path", { class: "arrow", d: "M 0 0 L 10 5 L 0 10 z" }))));
      stages.forEach((stage, col) => {
        const x = LEFT + col * (W + GX);
        const list = byStage.get(stage);
        const colHeight = list.length * H + (list.length - 1) * GY;
        const y0 = TOP + (rows * H + (rows - 1) * GY - colHeight) / 2;
        svg.appendChild(s("rect", { class: "stage-band", x: x - 8, y: TOP - 8, width: W + 16, height: height - TOP, rx: 8 }));
        svg.appendChild(s("text", { class: "stage-label", x: x, y: 16 }, `Stage ${stage}`));
        list.forEach((n, i) => pos.set(n.id, { x, y: y0 + i * (H + GY) }));
      });
      for (const e of st.graph.edges || []) {
        const a = pos.get(e.source); const b = pos.get(e.target);
        if (!a || !b) continue;
        const x1 = a.x + W; const y1 = a.y + H / 2; const x2 = b.x - 2; const y2 = b.y + H / 2;
        const mid = (x1 + x2) / 2;
        svg.appendChild(s("path", {
          class: "edge", d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, "marker-end": "url(#arrow)",
          tip: `${e.source} → ${e.target}${e.delivery ? `\n${e.delivery}` : ""}`,
        }));
      }
      for (const n of nodes) {
        const p = pos.get(n.id);
        const g = s("g", { class: "node", transform: `translate(${p.x},${p.y})` });
        g.__name = n.id;
        g.setAttribute("data-factory", n.id);
        append(g,
          s("rect", { class: "box", width: W, height: H, rx: 7 }),
          s("rect", { class: "bar", width: 5, height: H, rx: 2 }),
          s("text", { class: "name", x: 14, y: 21 }, truncate(n.id, 24)),
          s("text", { class: "state", x: 14, y: 38 }));
        svg.appendChild(g);
        st.nodes.set(n.id, g);
        updateNode(n.id);
      }
      replace(graphBody, svg);
    }

    function updateNode(name) {
      const g = st.nodes.get(name);
      if (!g) return;
      const f = st.factories.get(name);
      const status = f ? f.status : "pending";
      g.setAttribute("class", `node status-${status}`);
      g.setAttribute("data-status", status);
      let text = status;
      if (f && f.status === "running") text = `running${f.phase ? ` · ${f.phase}` : ""}`;
      else if (f && f.duration !== null && f.duration !== undefined) text = `${status} · ${fmtDuration(f.duration)}`;
      if (f && f.attempt > 1) text += ` · attempt ${f.attempt}`;
      g.querySelector("text.state").textContent = text;
      const old = g.querySelector(":scope > title");
      if (old) old.remove();
      const lines = [name, `status: ${status}`];
      if (f && f.started_at) lines.push(`started: ${fmtTime(f.started_at)}`);
      if (f && f.duration !== null && f.duration !== undefined) lines.push(`duration: ${fmtDuration(f.duration)}`);
      if (f && f.error) lines.push(errorSummary({ ...f.error, factory: null }));
      setTip(g, lines.join("\n"));
    }

    /* ----- spark */

    function renderSpark() {
      const jobs = (st.spark && st.spark.jobs) || [];
      sparkPanel.hidden = !jobs.length;
      if (!jobs.length) { clear(sparkPanel); return; }
      replace(sparkPanel,
        h("div", { class: "panel-head" }, h("h2", null, "Spark progress"),
          h("span", { class: "meta" }, "jobs of the factories running now")),
        h("div", { class: "panel-body" }, jobs.map((j) => {
          const total = j.num_tasks || 0;
          const bar = h("div", { class: "progress" });
          if (total) {
            const ok = h("span", { class: "fill-running" });
            ok.style.width = `${(j.completed_tasks / total) * 100}%`;
            bar.appendChild(ok);
            if (j.active_tasks) {
              const act = h("span", { class: "fill-active" });
              act.style.width = `${(j.active_tasks / total) * 100}%`;
              bar.appendChild(act);
            }
            if (j.failed_tasks) {
              const bad = h("span", { class: "fill-failed" });
              bad.style.width = `${(j.failed_tasks / total) * 100}%`;
              bar.appendChild(bad);
            }
          }
          return h("div", { class: "spark-job", "data-job": j.job_id },
            h("div", { class: "name-cell" }, h("strong", null, j.factory || "")),
            h("div", { class: "mono" }, `job ${j.job_id}`),
            h("div", { tip: `${j.status}: ${j.completed_tasks}/${total} tasks done, ${j.active_tasks || 0} running, ${j.failed_tasks || 0} failed` }, bar),
            h("div", { class: "muted num" },
              `${j.completed_tasks}/${total} tasks` + (j.active_tasks ? ` · ${j.active_tasks} running` : "") +
              (j.failed_tasks ? ` · ${j.failed_tasks} failed` : "") + ` · ${j.stages_done}/${j.stages_total} stages`));
        })));
    }

    /* ----- errors */

    function errorCard(err, label) {
      const ctx = [];
      for (const key of ["factory", "stage", "phase", "attempt", "error_class"]) {
        if (err[key] !== null && err[key] !== undefined && err[key] !== "") ctx.push([key, err[key]]);
      }
      const context = err.context || {};
      for (const [k, v] of Object.entries(context)) {
        if (k === "traceback" || k === "causes" || v === null || v === undefined || v === "") continue;
        if (typeof v === "object" && !Object.keys(v).length) continue;
        ctx.push([k, typeof v === "object" ? JSON.stringify(v) : v]);
      }
      const causes = Array.isArray(context.causes) ? context.causes : [];
      // A wrapped error's own hint is generic; its causes' hints say what to do.
      const hints = [];
      for (const c of causes) {
        for (const line of String(c.message || "").split("\n").slice(1)) {
          const m = /^\s*hint:\s*(.+)$/.exec(line);
          if (m && !hints.includes(m[1])) hints.push(m[1]);
        }
      }
      if (err.hint && !hints.includes(err.hint)) hints.push(err.hint);
      const trace = typeof context.traceback === "string" ? context.traceback : "";
      return h("div", { class: "error-card", "data-error-of": label },
        h("div", null, h("span", { class: "etype" }, err.type || "Error"),
          h("span", { class: "where" }, label)),
        h("pre", { class: "msg" }, err.message || ""),
        hints.map((hint) => h("div", { class: "hint" }, hint)),
        causes.length ? h("div", { class: "causes" }, causes.map((c) =>
          h("div", { class: "cause" }, h("span", { class: "muted" }, "caused by "),
            h("code", null, c.error_type || c.type || "Error"), ": ",
            String(c.message || "").split("\n")[0]))) : null,
        ctx.length ? h("table", { class: "ctx" }, h("tbody", null, ctx.map(([k, v]) =>
          h("tr", null, h("td", null, k), h("td", null, String(v)))))) : null,
        trace ? h("details", { class: "trace" }, h("summary", null, "Traceback"),
          h("pre", null, trace)) : null);
    }

    function renderErrors() {
      const cards = [];
      const seen = new Set();
      for (const f of st.factories.values()) {
        if (!f.error) continue;
        seen.add(`${f.error.type}|${f.error.message}`);
        cards.push(errorCard(f.error, `factory ${f.factory} · stage ${f.stage_id} · attempt ${f.attempt}`));
      }
      const runErr = st.run && st.run.error;
      if (runErr && !seen.has(`${runErr.type}|${runErr.message}`)) cards.unshift(errorCard(runErr, "run"));
      errorsPanel.hidden = !cards.length;
      if (!cards.length) { clear(errorsPanel); return; }
      replace(errorsPanel,
        h("div", { class: "panel-head" }, h("h2", null, `Errors (${cards.length})`)),
        h("div", { class: "panel-body" }, cards));
    }

    /* ----- timeline */

    function renderTimeline() {
      const run = st.run;
      const list = [...st.factories.values()].filter((f) => f.started_at);
      const pending = st.graph.nodes.filter((n) => !st.factories.has(n.id) || !st.factories.get(n.id).started_at);
      if (!run || (!list.length && !pending.length)) {
        replace(timelineBody, h("div", { class: "empty" }, "Nothing has started yet."));
        return;
      }
      const now = Date.now() / 1000;
      const t0 = run.started_at;
      let t1 = run.finished_at || now;
      for (const f of list) t1 = Math.max(t1, f.finished_at || (f.status === "running" ? now : f.started_at + (f.duration || 0)));
      const span = Math.max(t1 - t0, 0.001);
      list.sort((a, b) => (a.stage_id - b.stage_id) || (a.started_at - b.started_at) || (a.factory < b.factory ? -1 : 1));
      const rows = [...list.map((f) => ({ name: f.factory, f })), ...pending.map((n) => ({ name: n.id, f: null }))];
      const width = Math.max(640, timelineBody.clientWidth - 32 || 960);
      const LABEL = 210; const RIGHT = 20; const TOP = 28; const ROW = 28; const BAR = 18;
      const height = TOP + rows.length * ROW + 10;
      const plotW = width - LABEL - RIGHT;
      const x = (t) => LABEL + ((t - t0) / span) * plotW;
      const svg = s("svg", { class: "timeline", id: "timeline", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Timeline of the factories" });
      rows.forEach((_r, i) => { if (i % 2) svg.appendChild(s("rect", { class: "row-alt", x: 0, y: TOP + i * ROW, width, height: ROW })); });
      for (const stg of st.stages) {
        if (!stg.started_at) continue;
        const a = x(stg.started_at); const b = x(stg.finished_at || t1);
        svg.appendChild(s("rect", { class: "stage-span", x: a, y: TOP - 4, width: Math.max(1, b - a), height: height - TOP, tip: `Stage ${stg.stage_id}: ${stg.status} · ${fmtDuration(stg.duration)}` }));
        if (b - a > 44) svg.appendChild(s("text", { class: "stage-span-label", x: a + 3, y: height - 3 }, `stage ${stg.stage_id}`));
      }
      const axis = s("g", { class: "axis" });
      for (const t of niceTicks(0, span, Math.max(2, Math.floor(plotW / 90)))) {
        const px = x(t0 + t);
        axis.appendChild(s("line", { x1: px, x2: px, y1: TOP - 6, y2: height, class: "gridline", stroke: "#eef0f3" }));
        axis.appendChild(s("text", { x: px, y: TOP - 10, "text-anchor": "middle" }, `+${fmtOffset(t, span)}`));
      }
      svg.appendChild(axis);
      rows.forEach((r, i) => {
        const y = TOP + i * ROW + (ROW - BAR) / 2;
        svg.appendChild(s("text", { class: `row-label${r.f ? "" : " pending"}`, x: 10, y: y + BAR - 4, tip: r.name }, truncate(r.name, 28)));
        if (!r.f) return;
        const f = r.f;
        const end = f.finished_at || (f.status === "running" ? now : f.started_at + (f.duration || 0));
        const bx = x(f.started_at); const bw = Math.max(2, x(end) - bx);
        const g = s("g", { class: "gantt-row", "data-factory": f.factory });
        const phases = orderedPhases(f.phases);
        const tipLines = [f.factory, `${f.status} · stage ${f.stage_id} · attempt ${f.attempt}`,
          `start +${fmtDuration(f.started_at - t0)} · ${fmtDuration(end - f.started_at)}`,
          ...phases.map(([p, sec]) => `  ${p}: ${fmtDuration(sec)}`)];
        g.appendChild(s("rect", { class: `gbar status-${f.status}`, x: bx, y, width: bw, height: BAR, rx: 3 }));
        let px = bx;
        const scale = plotW / span;
        for (const [p, sec] of phases) {
          const w = Math.min(sec * scale, bx + bw - px);
          if (w <= 0) break;
          g.appendChild(s("rect", { class: `phase-${PHASES.includes(p) ? p : "other"}`, x: px, y: y + BAR - 6, width: w, height: 4, rx: 1 }));
          px += w;
        }
        setTip(g, tipLines.join("\n"));
        svg.appendChild(g);
      });
      if (run.status === "running") svg.appendChild(s("line", { class: "now-line", x1: x(now), x2: x(now), y1: TOP - 4, y2: height }));
      replace(timelineBody, svg, h("div", { class: "legend" },
        ["read", "process", "write", "get"].map((p) => h("span", null, h("span", { class: `sw phase-sw-${p}` }), p))));
      for (const sw of timelineBody.querySelectorAll(".legend .sw")) {
        const p = sw.getAttribute("class").replace(/.*phase-sw-/, "");
        sw.style.background = { read: "#53b1fd", process: "#7a5af8", write: "#16b364", get: "#f79009" }[p];
      }
    }

    /* ----- factories table */

    function renderFactories() {
      const list = [...st.factories.values()].sort((a, b) => (a.stage_id - b.stage_id) || ((a.started_at || 0) - (b.started_at || 0)));
      if (!list.length) {
        replace(factoriesBody, h("div", { class: "empty" }, "No factory has started yet."));
        return;
      }
      const tbody = h("tbody");
      for (const f of list) {
        const metrics = shownMetrics(f.metrics);
        const top = metrics.filter(([k]) => /cpu|rss|rows|records/.test(k)).slice(0, 4);
        const tr = h("tr", { "data-factory": f.factory },
          h("td", { class: "name-cell", tip: f.factory }, h("strong", null, f.factory)),
          h("td", { class: "num" }, f.stage_id),
          h("td", { class: "num" }, f.attempt),
          h("td", null, badge(f.status)),
          h("td", { class: "nowrap" }, fmtTime(f.started_at)),
          h("td", { class: "num" }, fmtDuration(f.duration)),
          h("td", null, h("div", { class: "chips" }, orderedPhases(f.phases).map(([p, sec]) =>
            h("span", { class: "chip" }, h("b", null, p), fmtDuration(sec))))),
          h("td", null, h("div", { class: "chips" }, top.map(([k, v]) =>
            h("span", { class: "chip", tip: k }, h("b", null, shortMetric(k)), fmtMetric(k, v))),
          metrics.length > top.length ? h("button", { type: "button", class: "linkish" }, `all ${metrics.length}`) : null)));
        const detail = h("tr", { class: "detail", hidden: true },
          h("td", { colspan: 8 }, h("div", { class: "chips" }, metrics.map(([k, v]) =>
            h("span", { class: "chip" }, h("b", null, shortMetric(k)), fmtMetric(k, v))))));
        tr.addEventListener("click", () => { detail.hidden = !detail.hidden; });
        append(tbody, tr, metrics.length ? detail : null);
      }
      replace(factoriesBody, h("table", { class: "data", id: "factories-table" },
        h("thead", null, h("tr", null, h("th", null, "Factory"), h("th", { class: "num" }, "Stage"),
          h("th", { class: "num" }, "Attempt"), h("th", null, "Status"), h("th", null, "Started"),
          h("th", { class: "num" }, "Duration"), h("th", null, "Phases"), h("th", null, "Metrics"))),
        tbody));
    }

    // Keep the running clock and the live timeline moving.
    st.timers.push(setInterval(() => {
      if (!st.run || st.run.status !== "running") return;
      const el = document.getElementById("run-duration");
      if (el) el.textContent = fmtDuration(Date.now() / 1000 - st.run.started_at);
    }, 1000));
    st.timers.push(setInterval(() => {
      if (st.run && st.run.status === "running") renderTimeline();
    }, 2000));
    // A safety net: if the stream stays silent (a proxy that buffers it, a
    // dropped connection), read the run's state directly now and then.
    st.timers.push(setInterval(() => {
      if (st.source && st.run && st.run.status === "running" && Date.now() - st.lastEvent > 10000) {
        st.lastEvent = Date.now();
        load();
      }
    }, 3000));
    let resizeTimer = null;
    const onResize = () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(renderTimeline, 150); };
    window.addEventListener("resize", onResize);

    load();
    return {
      destroy() {
        st.destroyed = true;
        stopLive();
        for (const t of st.timers) clearInterval(t);
        window.removeEventListener("resize", onResize);
        logs.destroy();
      },
    };
  }

  function orderedPhases(phases) {
    const entries = Object.entries(phases || {}).filter(([, v]) => typeof v === "number");
    return entries.sort(([a], [b]) => {
      const ia = PHASES.indexOf(a); const ib = PHASES.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : 1);
    });
  }

  function shortMetric(name) {
    return name.replace(/^pysetl_factory_/, "").replace(/^pysetl_/, "");
  }

  /** Metrics shown in the table: not the phase durations (the Phases column has them). */
  function shownMetrics(metrics) {
    return Object.entries(metrics || {})
      .filter(([k]) => !/phase_duration_seconds|^(pysetl_)?(factory_)?duration_seconds$/.test(k.replace(/^pysetl_factory_/, "")))
      .sort(([a], [b]) => (a < b ? -1 : 1));
  }

  function truncate(text, n) {
    const t = String(text);
    return t.length > n ? `${t.slice(0, n - 1)}…` : t;
  }

  /* ----------------------------------------------------------------- logs */

  function logsPanel(runId) {
    const st = { cursor: null, last: null, follow: false, timer: null, destroyed: false, busy: false, count: 0, aborter: null };
    const levelSel = h("select", { "aria-label": "Level", name: "level" },
      h("option", { value: "" }, "All levels"),
      ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].map((l) => h("option", { value: l }, `${l}+`)));
    const factoryList = h("datalist", { id: "log-factories" });
    const factoryIn = h("input", { type: "text", name: "factory", placeholder: "factory", "aria-label": "Factory", size: 14, list: "log-factories" });
    const search = h("input", { type: "search", name: "q", placeholder: "Search the log…", "aria-label": "Search logs" });
    const followBox = h("input", { type: "checkbox", name: "follow" });
    const list = h("div", { class: "logs", id: "logs", role: "log" });
    const more = h("button", { type: "button", "data-action": "more-logs" }, "Load more");
    const info = h("span", { class: "info" });
    const el = h("div", { class: "panel", id: "logs-panel" },
      h("div", { class: "panel-head" }, h("h2", null, "Logs"), h("span", { class: "meta" }, "paged, searchable; tick Follow to tail")),
      h("div", { class: "toolbar" },
        h("label", null, "Level", levelSel), h("label", null, "Factory", factoryIn, factoryList), search,
        h("span", { class: "spacer" }), h("label", { class: "toggle" }, followBox, "Follow")),
      list,
      h("div", { class: "pager" }, info, more));

    function params() {
      return { level: levelSel.value, factory: factoryIn.value.trim(), q: search.value.trim() };
    }

    function lineEl(item, q) {
      return h("div", { class: "line", "data-log-id": item.id },
        h("span", { class: "ts", tip: fmtTime(item.ts) }, fmtClock(item.ts)),
        h("span", { class: `lvl lvl-${item.level}` }, item.level),
        h("span", { class: "fac", tip: `${item.factory || ""}\n${item.logger || ""}` }, item.factory || item.logger || ""),
        h("span", { class: "msg" }, highlight(item.message, q)));
    }

    function highlight(text, q) {
      const msg = String(text === null || text === undefined ? "" : text);
      if (!q) return msg;
      const out = [];
      const lower = msg.toLowerCase(); const needle = q.toLowerCase();
      let i = 0;
      for (;;) {
        const j = lower.indexOf(needle, i);
        if (j < 0) break;
        out.push(msg.slice(i, j), h("mark", null, msg.slice(j, j + q.length)));
        i = j + q.length;
      }
      out.push(msg.slice(i));
      return out;
    }

    async function fetchPage(reset) {
      if (st.busy && !reset) { st.again = true; return undefined; }
      if (st.aborter) st.aborter.abort();
      st.aborter = new AbortController();
      st.busy = true;
      if (reset) { st.cursor = null; st.last = null; st.count = 0; }
      const p = params();
      try {
        const cursor = st.cursor || st.last;
        const page = await api(`runs/${encodeURIComponent(runId)}/logs`, { ...p, cursor, limit: LOG_PAGE }, st.aborter.signal);
        if (st.destroyed) return;
        if (reset) clear(list);
        const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
        const frag = document.createDocumentFragment();
        for (const item of page.items) frag.appendChild(lineEl(item, p.q));
        list.appendChild(frag);
        st.count += page.items.length;
        if (page.items.length) st.last = String(page.items[page.items.length - 1].id);
        st.cursor = page.next_cursor || null;
        while (list.children.length > LOG_KEEP) list.removeChild(list.firstChild);
        if (!list.children.length) list.appendChild(h("div", { class: "more empty" }, p.q || p.level || p.factory ? "No log line matches." : "No log lines."));
        else { const e = list.querySelector(".empty"); if (e && list.children.length > 1) e.remove(); }
        more.disabled = !st.cursor;
        info.textContent = `${st.count} line${st.count === 1 ? "" : "s"} loaded${st.cursor ? ", more available" : ""}` +
          (list.children.length < st.count ? ` (last ${list.children.length} shown)` : "");
        list.setAttribute("data-loaded", String(Date.now()));
        if (st.follow && (stick || reset)) list.scrollTop = list.scrollHeight;
        if (st.follow && st.cursor) { st.busy = false; await fetchPage(false); } // fast-forward to the tail
      } catch (err) {
        if (err.name === "AbortError" || st.destroyed) return;
        replace(list, h("div", { class: "more" }, `Logs unavailable: ${err.message}`));
      } finally {
        st.busy = false;
        if (st.again && !st.destroyed) { st.again = false; setTimeout(() => fetchPage(false), 0); }
      }
      return undefined;
    }

    function pollLater() {
      clearTimeout(st.timer);
      if (st.follow && !st.destroyed) st.timer = setTimeout(async () => { await fetchPage(false); pollLater(); }, 1000);
    }

    let debounce = null;
    const refilter = () => { clearTimeout(debounce); debounce = setTimeout(() => fetchPage(true), 250); };
    search.addEventListener("input", refilter);
    factoryIn.addEventListener("input", refilter);
    levelSel.addEventListener("change", () => fetchPage(true));
    more.addEventListener("click", () => fetchPage(false));
    followBox.addEventListener("change", () => { st.follow = followBox.checked; if (st.follow) fetchPage(false); pollLater(); });

    fetchPage(true);
    return {
      el,
      push(_line) { /* the follow poll reads new lines from the API; nothing to do */ },
      /** Offer these factory names in the factory filter. */
      factories(names) {
        const known = new Set([...factoryList.children].map((o) => o.value));
        for (const name of names) if (!known.has(name)) factoryList.appendChild(h("option", { value: name }));
      },
      /** Tail the log (a live run), or stop and read what came last (its end). */
      follow(on) {
        followBox.checked = on;
        st.follow = on;
        clearTimeout(st.timer);
        fetchPage(false).then(pollLater);
      },
      destroy() { st.destroyed = true; clearTimeout(st.timer); clearTimeout(debounce); if (st.aborter) st.aborter.abort(); },
    };
  }

  /* --------------------------------------------------------------- charts */

  function niceStep(range, count) {
    const raw = range / Math.max(1, count);
    const mag = 10 ** Math.floor(Math.log10(raw || 1));
    const norm = raw / mag;
    const step = norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1;
    return step * mag;
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const step = niceStep(hi - lo, count);
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toFixed(10)));
    return out;
  }

  /**
   * A line or bar chart over runs (x = run index, oldest first).
   * opts: {runs: [{run_id, started_at, status}], series: [{name, color, values}],
   *        kind: "line"|"bar", yFormat, id, statusBars}
   */
  function chart(container, opts) {
    const runs = opts.runs;
    const series = opts.series.filter((se) => se.values.some((v) => typeof v === "number"));
    if (!runs.length || !series.length) {
      return replace(container, h("div", { class: "empty" }, opts.empty || "No data for these runs."));
    }
    const width = Math.max(360, container.clientWidth || 560);
    const height = opts.height || 210;
    const M = { l: 62, r: 14, t: 12, b: 34 };
    const plotW = width - M.l - M.r; const plotH = height - M.t - M.b;
    let ymax = 0; let ymin = 0;
    for (const se of series) for (const v of se.values) if (typeof v === "number") { ymax = Math.max(ymax, v); ymin = Math.min(ymin, v); }
    if (ymax === ymin) ymax = ymin + 1;
    let ticks;
    if (opts.yFormat === fmtBytes && ymax > 0) { // round KiB, MiB, GiB steps
      const unit = 1024 ** Math.max(0, Math.floor(Math.log(ymax) / Math.log(1024)));
      ticks = niceTicks(ymin / unit, ymax / unit, 4).map((v) => v * unit);
    } else ticks = niceTicks(ymin, ymax, 4);
    const top = Math.max(ymax, ticks[ticks.length - 1]);
    const y = (v) => M.t + plotH - ((v - ymin) / (top - ymin)) * plotH;
    const n = runs.length;
    const band = plotW / n;
    const x = (i) => M.l + band * i + band / 2;
    const fmt = opts.yFormat || fmtNumber;
    const svg = s("svg", { class: "chart", id: opts.id, width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": opts.title || "chart", "data-points": 0 });
    const grid = s("g", { class: "grid" });
    const axis = s("g", { class: "axis" });
    for (const t of ticks) {
      grid.appendChild(s("line", { x1: M.l, x2: width - M.r, y1: y(t), y2: y(t) }));
      axis.appendChild(s("text", { x: M.l - 8, y: y(t) + 4, "text-anchor": "end" }, fmt(t)));
    }
    axis.appendChild(s("line", { x1: M.l, x2: width - M.r, y1: M.t + plotH, y2: M.t + plotH }));
    const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 90))));
    const tspan = runs[n - 1].started_at - runs[0].started_at;
    for (let i = 0; i < n; i += every) {
      axis.appendChild(s("line", { x1: x(i), x2: x(i), y1: M.t + plotH, y2: M.t + plotH + 4 }));
      axis.appendChild(s("text", { x: x(i), y: height - 12, "text-anchor": "middle" }, fmtAxisTime(runs[i].started_at, tspan)));
    }
    svg.appendChild(grid);
    svg.appendChild(axis);
    let points = 0;
    const go = (i) => () => { location.hash = runHref(runs[i].run_id); };
    if (opts.kind === "bar") {
      const per = Math.min(28, band * 0.7 / series.length);
      series.forEach((se, k) => {
        se.values.forEach((v, i) => {
          if (typeof v !== "number") return;
          const bx = x(i) - (per * series.length) / 2 + k * per;
          const color = opts.statusBars ? statusColor(runs[i].status) : se.color;
          const r = s("rect", { class: "barv", x: bx, y: Math.min(y(v), y(0)), width: Math.max(1, per - 1), height: Math.max(1, Math.abs(y(0) - y(v))), fill: color, rx: 2, onclick: go(i),
            tip: `${runs[i].run_id}\n${fmtTime(runs[i].started_at)} · ${runs[i].status}\n${se.name}: ${fmt(v)}` });
          svg.appendChild(r);
          points += 1;
        });
      });
    } else {
      for (const se of series) {
        let d = "";
        let pen = false;
        se.values.forEach((v, i) => {
          if (typeof v !== "number") { pen = false; return; }
          d += `${pen ? "L" : "M"} ${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
          pen = true;
        });
        svg.appendChild(s("path", { class: "line", d, stroke: se.color }));
        se.values.forEach((v, i) => {
          if (typeof v !== "number") return;
          svg.appendChild(s("circle", { class: "pt", cx: x(i), cy: y(v), r: n > 60 ? 2.5 : 3.5, fill: opts.statusDots ? statusColor(runs[i].status) : se.color, onclick: go(i),
            tip: `${runs[i].run_id}\n${fmtTime(runs[i].started_at)} · ${runs[i].status}\n${se.name}: ${fmt(v)}` }));
          points += 1;
        });
      }
    }
    svg.setAttribute("data-points", String(points));
    const legend = series.length > 1 || opts.legend
      ? h("div", { class: "legend" }, series.map((se) => {
        const sw = h("span", { class: "sw" });
        sw.style.background = se.color;
        return h("span", null, sw, se.name);
      }))
      : null;
    return replace(container, svg, legend);
  }

  function chartsView(root, pipeline) {
    const st = { destroyed: false, data: null, timer: null };
    const limitSel = h("select", { "aria-label": "Runs", name: "limit" },
      [25, 50, 100, 250, 500].map((n) => h("option", { value: n }, `last ${n} runs`)));
    limitSel.value = "100";
    const body = h("div", null, h("div", { class: "empty" }, "Loading charts…"));
    append(root,
      h("div", { class: "page-head" },
        h("div", null,
          h("div", { class: "crumbs" }, h("a", { href: "#/pipelines" }, "Pipelines")),
          h("h1", { id: "chart-pipeline" }, pipeline),
          h("div", { class: "sub" }, "History across runs; click a point to open its run.")),
        h("div", null, h("a", { class: "button", href: `#/${qs({ pipeline })}` }, "Runs of this pipeline"), " ", limitSel)),
      body);

    function box(title, id, meta) {
      const holder = h("div", { class: "chart-holder", "data-chart": id });
      const el = h("div", { class: "panel chart-box" },
        h("div", { class: "chart-title" }, h("h2", null, title), meta ? h("span", { class: "meta" }, meta) : null),
        holder);
      return { el, holder };
    }

    function render() {
      const data = st.data;
      const runs = data.runs || [];
      if (!runs.length) {
        replace(body, h("div", { class: "panel" }, h("div", { class: "empty" }, "No runs of this pipeline yet.")));
        return;
      }
      const durations = runs.map((r) => r.duration).filter((v) => typeof v === "number").sort((a, b) => a - b);
      const median = durations.length ? durations[Math.floor(durations.length / 2)] : null;
      const last = runs[runs.length - 1];
      const failed = runs.filter((r) => r.status === "failed" || r.status === "crashed").length;
      const cards = h("div", { class: "cards" },
        card("Runs shown", String(runs.length)),
        card("Failure rate", fmtPercent(data.failure_rate), "failure-rate"),
        card("Failed or crashed", String(failed)),
        card("Median duration", fmtDuration(median)),
        h("div", { class: "card" }, h("div", { class: "label" }, "Last run"),
          h("div", { class: "value small" }, badge(last.status), " ", h("a", { class: "mono", href: runHref(last.run_id) }, truncate(last.run_id, 18)))));

      const strip = h("div", { class: "panel chart-box" },
        h("div", { class: "chart-title" }, h("h2", null, "Run outcomes"), h("span", { class: "meta" }, "oldest → newest")),
        h("div", { class: "strip", id: "status-strip" }, runs.map((r) =>
          h("a", { class: `status-${r.status}`, href: runHref(r.run_id), tip: `${r.run_id}\n${fmtTime(r.started_at)} · ${r.status} · ${fmtDuration(r.duration)}` }))));

      const dur = box("Duration per run", "chart-duration", "bar colour = run status");
      const fail = box("Failure rate", "chart-failure", "rolling, over the last 10 runs");
      const facs = box("Duration per factory", "chart-factories");
      const cpu = box("CPU time", "chart-cpu", "driver CPU seconds per run");
      const mem = box("Memory", "chart-memory", "peak RSS per run");
      const rows = box("Rows processed", "chart-rows");
      append(clear(body), cards, strip,
        h("div", { class: "grid-2" }, dur.el, fail.el, facs.el, cpu.el, mem.el, rows.el));

      chart(dur.holder, { id: "chart-duration", title: "Duration per run", runs, kind: "bar", statusBars: true, yFormat: fmtDuration,
        series: [{ name: "duration", color: PALETTE[0], values: runs.map((r) => r.duration) }] });
      const rolling = runs.map((_r, i) => {
        const win = runs.slice(Math.max(0, i - 9), i + 1).filter((r) => r.status !== "running");
        return win.length ? win.filter((r) => r.status === "failed" || r.status === "crashed").length / win.length : null;
      });
      chart(fail.holder, { id: "chart-failure", title: "Failure rate", runs, yFormat: fmtPercent, statusDots: true,
        series: [{ name: "failure rate", color: "#d92d20", values: rolling }] });
      const index = new Map(runs.map((r, i) => [r.run_id, i]));
      const facSeries = Object.entries(data.factories || {}).map(([name, pts], k) => {
        const values = runs.map(() => null);
        for (const p of pts) if (index.has(p.run_id)) values[index.get(p.run_id)] = p.duration;
        return { name, color: PALETTE[k % PALETTE.length], values };
      });
      chart(facs.holder, { id: "chart-factories", title: "Duration per factory", runs, yFormat: fmtDuration, series: facSeries, legend: true });
      chart(cpu.holder, { id: "chart-cpu", title: "CPU time", runs, yFormat: fmtDuration,
        empty: "No CPU time recorded: observe the runs with a MetricsCollector.",
        series: [{ name: "CPU seconds", color: "#7a5af8", values: runs.map((r) => r.cpu_seconds) }] });
      chart(mem.holder, { id: "chart-memory", title: "Memory", runs, yFormat: fmtBytes,
        empty: "No memory figures recorded: observe the runs with a MetricsCollector.",
        series: [{ name: "peak RSS", color: "#06aed4", values: runs.map((r) => r.rss_peak_bytes) }] });
      chart(rows.holder, { id: "chart-rows", title: "Rows processed", runs, legend: true,
        empty: "No rows recorded: a MetricsCollector counts the rows that factories read and write with Spark.",
        series: [
          { name: "rows in", color: "#3b6fe0", values: runs.map((r) => r.rows_in) },
          { name: "rows out", color: "#16b364", values: runs.map((r) => r.rows_out) }] });

      const kpis = Object.entries(data.kpis || {});
      if (kpis.length) {
        const grid = h("div", { class: "grid-2" });
        append(body, h("h3", { class: "section-title" }, "Custom KPIs"), grid);
        const boxes = kpis.map(([name], k) => {
          const b = box(name, `chart-kpi-${k}`);
          b.holder.setAttribute("data-kpi", name);
          grid.appendChild(b.el);
          return b;
        });
        kpis.forEach(([name, pts], k) => {
          const b = boxes[k];
          const values = runs.map(() => null);
          for (const p of pts) if (index.has(p.run_id)) values[index.get(p.run_id)] = p.value;
          chart(b.holder, { id: `chart-kpi-${k}`, title: name, runs, series: [{ name, color: PALETTE[(k + 3) % PALETTE.length], values }] });
        });
      }
      renderFactoryPanel(Object.keys(data.factories || {}));
    }

    /* One factory across runs: its duration and every metric recorded for it. */
    function renderFactoryPanel(names) {
      if (!names.length) return;
      const sel = h("select", { "aria-label": "Factory", name: "factory" },
        h("option", { value: "" }, "Pick a factory…"), names.map((n) => h("option", { value: n }, n)));
      const grid = h("div", { class: "grid-2", id: "factory-charts" });
      append(body, h("div", { class: "chart-title section-title" },
        h("h3", null, "One factory"), h("label", { class: "muted" }, sel)), grid);
      sel.addEventListener("change", () => showFactory(sel.value, grid));
      if (st.factory && names.includes(st.factory)) { sel.value = st.factory; showFactory(st.factory, grid); }
    }

    async function showFactory(name, grid) {
      st.factory = name;
      clear(grid);
      if (!name) return;
      try {
        const data = await api(`charts/factories/${encodeURIComponent(pipeline)}/${encodeURIComponent(name)}`, { limit: limitSel.value });
        if (st.destroyed || st.factory !== name) return;
        const points = data.points || [];
        const runs = points.map((p) => ({ run_id: p.run_id, started_at: p.started_at, status: p.status }));
        const names = [...new Set(points.flatMap((p) => shownMetrics(p.metrics).map(([k]) => k)))].slice(0, 7);
        const boxes = [["duration", "chart-factory-duration"], ...names.map((m, k) => [m, `chart-factory-m${k}`])]
          .map(([title, id]) => { const b = box(title === "duration" ? `${name}: duration` : shortMetric(title), id); grid.appendChild(b.el); return b; });
        chart(boxes[0].holder, { id: "chart-factory-duration", runs, kind: "bar", statusBars: true, yFormat: fmtDuration,
          series: [{ name: "duration", color: PALETTE[0], values: points.map((p) => p.duration) }] });
        names.forEach((m, k) => chart(boxes[k + 1].holder, { id: `chart-factory-m${k}`, runs,
          yFormat: (v) => fmtMetric(m, v),
          series: [{ name: shortMetric(m), color: PALETTE[(k + 1) % PALETTE.length], values: points.map((p) => (p.metrics || {})[m] ?? null) }] }));
      } catch (err) {
        if (!st.destroyed) replace(grid, errorNotice(err));
      }
    }

    function card(label, value, id) {
      return h("div", { class: "card", id: id || null }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
    }

    async function load() {
      try {
        const data = await api(`charts/pipelines/${encodeURIComponent(pipeline)}`, { limit: limitSel.value });
        if (st.destroyed) return;
        st.data = data;
        render();
      } catch (err) {
        if (!st.destroyed) replace(body, errorNotice(err));
      }
    }
    limitSel.addEventListener("change", load);
    let resizeTimer = null;
    const onResize = () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => { if (st.data) render(); }, 150); };
    window.addEventListener("resize", onResize);
    load();
    return { destroy() { st.destroyed = true; window.removeEventListener("resize", onResize); } };
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
}());
