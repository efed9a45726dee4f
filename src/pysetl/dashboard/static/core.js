/* pysetl dashboard, shared parts: DOM building, tooltips, formatting, the API client.
 *
 * The page is plain JavaScript split in files that share the window.pysetlUI
 * namespace (loaded in order, deferred): core.js, charts.js, logs.js, run.js,
 * app.js. No framework and no external files: the DOM is built with
 * createElement and textContent only, so every string from the history (factory
 * names, error messages, log lines) shows as text and can never run as markup.
 */
"use strict";

window.pysetlUI = (function () {
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

  /* A running run whose process stopped beating (``stale`` in the API). */
  function staleMark(run) {
    const seen = run.heartbeat_at || run.started_at;
    return h("span", { class: "badge stale", "data-stale": "true", tip: `No heartbeat since ${fmtTime(seen)}: its process probably died` }, "no heartbeat");
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
      throw new ApiError(response.status, message, hint);
    }
    return body;
  }

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

  /* ------------------------------------------------------------- helpers */

  const runHref = (id) => `#/runs/${encodeURIComponent(id)}`;
  const pipelineHref = (name) => `#/pipelines/${encodeURIComponent(name)}`;

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

  return {
    SVG_NS,
    STATUSES,
    PHASES,
    PALETTE,
    RANGES,
    RANGE_SECONDS,
    LOG_PAGE,
    LOG_KEEP,
    REFRESH_MS,
    h,
    s,
    append,
    clear,
    replace,
    setTip,
    initTooltip,
    pad2,
    fmtTime,
    fmtClock,
    fmtShortDate,
    fmtAgo,
    fmtDuration,
    fmtOffset,
    fmtAxisTime,
    fmtBytes,
    fmtNumber,
    fmtPercent,
    fmtMetric,
    errorSummary,
    badge,
    staleMark,
    statusColor,
    ApiError,
    qs,
    api,
    errorNotice,
    runHref,
    pipelineHref,
    orderedPhases,
    shortMetric,
    shownMetrics,
    truncate,
    niceStep,
    niceTicks,
  };
}());
