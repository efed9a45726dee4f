/* pysetl dashboard: the project page (#/project, #/project/<pipeline>), drawn from the code.
 *
 * GET api/project describes every pipeline the project registers (its
 * stages, factories, deliveries, edges, docstrings and configs, from the
 * code, nothing run) with each factory's state in the pipeline's last run.
 * The page shows one pipeline at a time (a tab each): its graph in SVG,
 * laid out in columns (external inputs, then stage 0, 1...), each factory
 * coloured by its last-run state; clicking a factory (or pressing Enter on
 * it) shows its docstring, output, deliveries with their types, schemas
 * and sources, configs and last run. Every text is inserted as text.
 */
"use strict";

(function (ui) {
  const { h, s, append, replace, badge, fmtTime, fmtDuration, api, errorNotice, runHref, truncate } = ui;
  const W = 210; const H = 52; const GX = 70; const GY = 18; const TOP = 34; const LEFT = 16;
  const projectHref = (name) => `#/project/${encodeURIComponent(name)}`;

  function stateOf(item) {
    return item && item.last_run ? item.last_run.status : null;
  }

  function statusClass(status) {
    return status ? `status-${status.replace(/\s+/g, "-")}` : "";
  }

  /* ------------------------------------------------------------- graph */

  function graph(p, onPick) {
    const columns = [];
    if (p.inputs.length) columns.push({ label: "Inputs", nodes: p.inputs.map((i) => ({ id: i.id, title: i.name, sub: i.type, input: true })) });
    const byName = new Map(p.factories.map((f) => [f.name, f]));
    for (const stage of p.stages) {
      columns.push({
        label: `Stage ${stage.index}`,
        nodes: stage.factories.map((name) => {
          const f = byName.get(name);
          return { id: name, title: name, sub: f ? f.output.type : "", status: stateOf(f) };
        }),
      });
    }
    const rows = Math.max(1, ...columns.map((c) => c.nodes.length));
    const width = LEFT * 2 + columns.length * W + Math.max(0, columns.length - 1) * GX;
    const height = TOP + rows * H + (rows - 1) * GY + 16;
    const svg = s("svg", { class: "graph project-graph", id: "project-graph", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `Pipeline ${p.name}` });
    svg.appendChild(s("defs", null, s("marker", { id: "project-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { class: "arrow", d: "M 0 0 L 10 5 L 0 10 z" }))));
    const pos = new Map();
    columns.forEach((column, col) => {
      const x = LEFT + col * (W + GX);
      const used = column.nodes.length * H + (column.nodes.length - 1) * GY;
      const y0 = TOP + (rows * H + (rows - 1) * GY - used) / 2;
      svg.appendChild(s("rect", { class: "stage-band", x: x - 8, y: TOP - 8, width: W + 16, height: height - TOP, rx: 8 }));
      svg.appendChild(s("text", { class: "stage-label", x, y: 18 }, column.label));
      column.nodes.forEach((n, i) => pos.set(n.id, { x, y: y0 + i * (H + GY), node: n }));
    });
    for (const e of p.edges) {
      const a = pos.get(e.source); const b = pos.get(e.target);
      if (!a || !b) continue;
      const x1 = a.x + W; const y1 = a.y + H / 2; const x2 = b.x - 2; const y2 = b.y + H / 2;
      const mid = (x1 + x2) / 2;
      // An edge that skips a column goes over the boxes, not through them.
      const over = TOP - 12;
      const d = b.x - a.x > W + GX + 1
        ? `M ${x1} ${y1} C ${x1 + 30} ${y1}, ${x1 + 30} ${over}, ${x1 + 60} ${over} ` +
          `L ${x2 - 60} ${over} C ${x2 - 30} ${over}, ${x2 - 30} ${y2}, ${x2} ${y2}`
        : `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`;
      svg.appendChild(s("path", {
        class: "edge", "data-source": e.source, "data-target": e.target,
        d, "marker-end": "url(#project-arrow)",
        tip: `${e.source} → ${e.target}.${e.attribute}: ${e.type}`,
      }));
    }
    const groups = new Map();
    for (const { x, y, node } of pos.values()) {
      const g = s("g", {
        class: `node ${node.input ? "input" : "factory"} ${statusClass(node.status)}`.trim(),
        transform: `translate(${x},${y})`,
        "data-factory": node.input ? null : node.id,
        "data-input": node.input ? node.id : null,
        "data-status": node.status || null,
        tabindex: node.input ? null : 0,
        role: node.input ? null : "button",
        "aria-label": node.input ? null : `Factory ${node.id}`,
        tip: `${node.title}: ${node.sub}${node.status ? ` (${node.status})` : ""}`,
      });
      append(g,
        s("rect", { class: "box", width: W, height: H, rx: node.input ? 2 : 7 }),
        node.input ? null : s("rect", { class: "bar", width: 5, height: H, rx: 2 }),
        s("text", { class: "name", x: 14, y: 22 }, truncate(node.title, 26)),
        s("text", { class: "state", x: 14, y: 39 }, truncate(node.sub, 30)));
      if (!node.input) {
        g.addEventListener("click", () => onPick(node.id));
        g.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onPick(node.id); }
        });
        groups.set(node.id, g);
      }
      svg.appendChild(g);
    }
    return { svg, groups };
  }

  /* ----------------------------------------------------------- details */

  function fieldsText(fields) {
    return (fields || []).map((f) => `${f.name}: ${f.type}`).join(", ");
  }

  function fieldsTable(fields) {
    if (!fields || !fields.length) return null;
    return h("table", { class: "data fields" },
      h("thead", null, h("tr", null, h("th", null, "Field"), h("th", null, "Type"))),
      h("tbody", null, fields.map((f) => h("tr", null, h("td", { class: "mono" }, f.name), h("td", { class: "mono" }, f.type)))));
  }

  function lastRunBlock(f) {
    const last = f.last_run;
    if (!last) return h("p", { class: "muted", id: "factory-last-run" }, "No recorded run of this pipeline.");
    return h("dl", { class: "kv", id: "factory-last-run" },
      h("dt", null, "State"), h("dd", null, badge(last.status)),
      h("dt", null, "Run"), h("dd", { class: "mono" }, h("a", { href: runHref(last.run_id) }, last.run_id)),
      last.started_at ? [h("dt", null, "Started"), h("dd", null, fmtTime(last.started_at))] : null,
      last.duration !== null && last.duration !== undefined ? [h("dt", null, "Took"), h("dd", null, fmtDuration(last.duration))] : null,
      last.error ? [h("dt", null, "Error"), h("dd", { class: "err-text" }, last.error)] : null);
  }

  function details(p, f, onPick) {
    const inputs = new Map(p.inputs.map((i) => [i.id, i]));
    const source = (d) => {
      if (!d.source) return h("span", { class: "err-text" }, "unresolved");
      if (inputs.has(d.source)) return h("span", { class: "muted" }, `input ${inputs.get(d.source).name}`);
      return h("button", { type: "button", class: "linkish", "data-goto": d.source, onclick: () => onPick(d.source) }, d.source);
    };
    const out = f.output;
    return h("div", { class: "panel", id: "factory-details", "data-factory": f.name },
      h("div", { class: "panel-head" },
        h("div", null, h("h2", null, f.name), h("div", { class: "meta mono" }, `${f.class_name} · stage ${f.stage}`)),
        f.last_run ? badge(f.last_run.status) : null),
      h("div", { class: "panel-body" },
        f.doc ? h("pre", { class: "doc", id: "factory-doc" }, f.doc) : h("p", { class: "muted", id: "factory-doc" }, "No docstring."),
        h("h3", null, "Output"),
        h("p", null, h("code", null, out.type), out.delivery_id ? h("span", { class: "muted" }, ` id ${out.delivery_id}`) : null,
          out.consumers.length ? h("span", { class: "muted" }, ` only for ${out.consumers.join(", ")}`) : null),
        fieldsTable(out.fields),
        h("h3", null, "Deliveries"),
        f.deliveries.length
          ? h("table", { class: "data", id: "factory-deliveries" },
            h("thead", null, h("tr", null, h("th", null, "Delivery"), h("th", null, "Type"), h("th", null, "Id"),
              h("th", null, "From"), h("th", null, "Fields"))),
            h("tbody", null, f.deliveries.map((d) => h("tr", { "data-delivery": d.attribute },
              h("td", { class: "mono" }, d.attribute),
              h("td", { class: "mono" }, d.type),
              h("td", { class: "mono" }, d.delivery_id || ""),
              h("td", null, source(d)),
              h("td", { class: "mono fields-cell", tip: fieldsText(d.fields) || null }, fieldsText(d.fields))))))
          : h("p", { class: "muted", id: "factory-deliveries" }, "None: it needs no input."),
        h("h3", null, "Configs"),
        f.configs.length
          ? f.configs.map((c) => h("div", { class: "config", "data-config": c.config_name || c.used_as },
            h("div", null, h("code", null, c.kind), c.config_name ? h("span", null, ` ${c.config_name}`) : null,
              c.used_as ? h("span", { class: "muted" }, ` (${c.used_as})`) : null),
            h("table", { class: "data fields" }, h("tbody", null,
              Object.entries(c.params).map(([k, v]) => h("tr", null, h("td", { class: "mono" }, k), h("td", { class: "mono" }, v)))))))
          : h("p", { class: "muted" }, "None found (repositories, connectors or configs it receives or holds)."),
        h("h3", null, "Last run"),
        lastRunBlock(f)));
  }

  /* -------------------------------------------------------------- page */

  function projectView(root, chosen) {
    const state = { destroyed: false, data: null, picked: null };
    const tabs = h("div", { class: "tabs", id: "pipeline-tabs", role: "tablist" });
    const body = h("div", null, h("div", { class: "panel" }, h("div", { class: "empty" }, "Reading the project's code…")));
    const where = h("span", { class: "mono" });
    const reload = h("button", { type: "button", id: "project-reload" }, "Reload");
    append(root,
      h("div", { class: "page-head" },
        h("div", null, h("h1", null, "Project"),
          h("div", { class: "sub" }, h("span", null, "Every pipeline of the project, from its code; each factory coloured by its last run."), where)),
        reload),
      tabs, body);

    function show(p) {
      state.picked = null;
      for (const tab of tabs.children) {
        const on = tab.getAttribute("data-pipeline") === p.project_name;
        tab.classList.toggle("active", on);
        tab.setAttribute("aria-selected", String(on));
      }
      const head = h("div", { class: "panel-head" },
        h("div", null, h("h2", null, p.project_name || p.name),
          p.name !== p.project_name ? h("div", { class: "meta" }, `runs as ${p.name}`) : null),
        p.last_run
          ? h("div", { class: "meta" }, "last run ", badge(p.last_run.status), " ",
            h("a", { href: runHref(p.last_run.run_id), class: "mono" }, p.last_run.run_id), ` · ${fmtTime(p.last_run.started_at)}`)
          : h("div", { class: "meta" }, "never run"));
      const panel = h("div", { class: "panel", id: "pipeline-panel", "data-pipeline": p.project_name }, head);
      const inner = h("div", { class: "panel-body" });
      panel.appendChild(inner);
      if (p.doc) inner.appendChild(h("pre", { class: "doc", id: "pipeline-doc" }, p.doc));
      if (p.error) {
        inner.appendChild(h("div", { class: "notice error", role: "alert", id: "pipeline-error" },
          h("strong", null, "This pipeline cannot be built: "), p.error));
        replace(body, panel);
        return;
      }
      if (p.problems.length) {
        inner.appendChild(h("div", { class: "notice error", id: "pipeline-problems" },
          h("strong", null, "Deliveries that cannot be resolved:"),
          h("ul", null, p.problems.map((text) => h("li", null, text)))));
      }
      const side = h("div", { id: "factory-side" }, h("div", { class: "panel" }, h("div", { class: "empty" }, "Click a factory to see its deliveries, docstring, configs and last run.")));
      let drawn = null;
      const pick = (name) => {
        const f = p.factories.find((x) => x.name === name);
        if (!f || !drawn) return;
        state.picked = name;
        for (const [n, g] of drawn.groups) g.classList.toggle("selected", n === name);
        for (const edge of drawn.svg.querySelectorAll("path.edge")) {
          const near = edge.getAttribute("data-source") === name || edge.getAttribute("data-target") === name;
          edge.classList.toggle("near", near);
        }
        replace(side, details(p, f, pick));
      };
      drawn = graph(p, pick);
      inner.appendChild(h("div", { class: "graph-wrap" }, drawn.svg));
      inner.appendChild(h("div", { class: "legend" },
        ["succeeded", "failed", "running", "crashed", "not run"].map((st) =>
          h("span", null, h("span", { class: `sw sw-${st.replace(/\s+/g, "-")}` }), st))));
      replace(body, panel, side);
    }

    function render(data) {
      state.data = data;
      where.textContent = data.root;
      if (!data.pipelines.length) {
        replace(tabs);
        replace(body, h("div", { class: "panel" }, h("div", { class: "empty" },
          "This project registers no pipeline: add them to [tool.pysetl.pipelines] of its pyproject.toml (name = \"module:function\").")));
        return;
      }
      replace(tabs, data.pipelines.map((p) => h("a", {
        class: "tab", href: projectHref(p.project_name), role: "tab", "data-pipeline": p.project_name,
      }, p.project_name, stateOf(p) ? h("span", { class: `dot ${statusClass(stateOf(p))}` }) : null,
      p.error ? h("span", { class: "dot status-failed", tip: "cannot be built" }) : null)));
      const wanted = chosen || data.default;
      const p = data.pipelines.find((x) => x.project_name === wanted) || data.pipelines[0];
      document.title = `${p.project_name} · project · pysetl`;
      show(p);
    }

    function load(refresh) {
      reload.disabled = true;
      api("project", refresh ? { refresh: "true" } : null).then((data) => {
        if (state.destroyed) return;
        render(data);
      }).catch((err) => {
        if (!state.destroyed) replace(body, errorNotice(err));
      }).finally(() => { reload.disabled = false; });
    }
    reload.addEventListener("click", () => load(true));
    load(false);
    return { destroy() { state.destroyed = true; } };
  }

  ui.projectView = projectView;
}(window.pysetlUI));
