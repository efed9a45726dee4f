/* pysetl dashboard: one run, live while it runs (graph, progress, Spark, errors, Gantt, factories). */
"use strict";

(function (ui) {
  const { STATUSES, PHASES, h, s, append, clear, replace, setTip, fmtTime, fmtDuration,
    fmtOffset, fmtMetric, errorSummary, badge, staleMark, statusColor, api, errorNotice, pipelineHref, runHref,
    orderedPhases, shortMetric, shownMetrics, truncate, niceTicks, logsPanel } = ui;

  /* ------------------------------------------------------------- run view */

  function runView(root, runId) {
    const st = {
      runId,
      run: null,
      stages: [],
      factories: new Map(), // name -> FactoryOut (latest attempt)
      attempts: new Map(), // name -> Map(attempt number -> FactoryOut): every attempt
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
          h("span", { class: "meta" }, "one row per factory (its last attempt), its earlier attempts under it; click a row for all metrics")),
        factoriesBody),
      logs.el);
    for (const sw of root.querySelectorAll("[data-sw]")) {
      if (sw.getAttribute("data-sw") === "pending") sw.style.background = statusColor("pending");
    }

    function keepLatest(f) {
      if (!st.attempts.has(f.factory)) st.attempts.set(f.factory, new Map());
      st.attempts.get(f.factory).set(f.attempt || 1, f);
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
        st.attempts.clear();
        for (const f of data.factories || []) keepLatest(f);
        renderAll();
        // A stale run (no heartbeat) will not change: the server ends its
        // stream at once, so following it would only reconnect in a loop.
        if (st.run.status === "running" && !st.run.stale) startLive();
        else { stopLive(); setLive(false, st.run.stale ? "no heartbeat: not following" : ""); }
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
      const seen = run.heartbeat_at || run.started_at;
      const duration = run.duration !== null && run.duration !== undefined
        ? run.duration : (run.stale ? seen : Date.now() / 1000) - run.started_at;
      replace(head,
        h("div", null,
          h("div", { class: "crumbs" }, h("a", { href: "#/" }, "Runs"), " / ",
            h("a", { href: pipelineHref(run.pipeline) }, run.pipeline)),
          h("div", { class: "run-title" },
            h("h1", { id: "run-pipeline" }, run.pipeline),
            badge(run.status),
            run.stale ? staleMark(run) : null,
            h("span", { class: "mono", id: "run-id" }, run.run_id)),
          run.stale ? h("div", { class: "notice warn", id: "run-stale" },
            `No heartbeat since ${fmtTime(seen)}: the run's process probably died. `
            + "The history marks it crashed the next time 'pysetl runs' reconciles it.") : null,
          h("div", { class: "sub" },
            h("span", null, "Started ", h("strong", null, fmtTime(run.started_at))),
            h("span", null, run.status === "running" ? (run.stale ? "Ran for at least " : "Running for ") : "Took ",
              h("strong", { id: "run-duration", "data-start": run.started_at }, fmtDuration(duration))),
            run.host ? h("span", null, "Host ", h("strong", null, `${run.host}${run.pid ? ` (pid ${run.pid})` : ""}`)) : null,
            run.config_version ? h("span", null, "Config ", h("code", null, String(run.config_version).slice(0, 12))) : null,
            run.resumed_from ? h("span", { id: "run-resumed-from" }, "Resumed from ",
              h("a", { class: "mono", href: runHref(run.resumed_from) }, run.resumed_from)) : null)),
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
        if (c.hint && !hints.includes(c.hint)) hints.push(c.hint);
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
        // Earlier attempts of a retried factory, newest first, under it.
        const earlier = [...(st.attempts.get(f.factory) || new Map()).values()]
          .filter((a) => (a.attempt || 1) !== (f.attempt || 1))
          .sort((a, b) => (b.attempt || 1) - (a.attempt || 1));
        for (const a of earlier) {
          append(tbody, h("tr", { class: "attempt-row", "data-factory": f.factory, "data-attempt": a.attempt },
            h("td", { class: "name-cell", tip: `${a.factory}, attempt ${a.attempt}` }, `↳ attempt ${a.attempt}`),
            h("td", { class: "num" }, a.stage_id),
            h("td", { class: "num" }, a.attempt),
            h("td", null, badge(a.status)),
            h("td", { class: "nowrap" }, fmtTime(a.started_at)),
            h("td", { class: "num" }, fmtDuration(a.duration)),
            h("td", null, h("div", { class: "chips" }, orderedPhases(a.phases).map(([p, sec]) =>
              h("span", { class: "chip" }, h("b", null, p), fmtDuration(sec))))),
            h("td", { class: "attempt-error", tip: errorSummary(a.error) }, truncate(errorSummary(a.error), 90))));
        }
      }
      replace(factoriesBody, h("table", { class: "data", id: "factories-table" },
        h("thead", null, h("tr", null, h("th", null, "Factory"), h("th", { class: "num" }, "Stage"),
          h("th", { class: "num" }, "Attempt"), h("th", null, "Status"), h("th", null, "Started"),
          h("th", { class: "num" }, "Duration"), h("th", null, "Phases"), h("th", null, "Metrics"))),
        tbody));
    }

    // Keep the running clock and the live timeline moving.
    st.timers.push(setInterval(() => {
      if (!st.run || st.run.status !== "running" || st.run.stale) return;
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

  ui.runView = runView;
}(window.pysetlUI));
