/* pysetl dashboard: SVG charts, the pipelines list and a pipeline's history charts. */
"use strict";

(function (ui) {
  const { PALETTE, h, s, append, clear, replace, fmtTime, fmtDuration, fmtAxisTime, fmtBytes,
    fmtNumber, fmtPercent, fmtMetric, badge, statusColor, qs, api, errorNotice, runHref,
    pipelineHref, shortMetric, shownMetrics, truncate, niceTicks } = ui;

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

  ui.chart = chart;
  ui.chartsView = chartsView;
  ui.pipelinesView = pipelinesView;
}(window.pysetlUI));
