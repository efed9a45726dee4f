/* pysetl dashboard: a run's logs, paged, searchable and tail-able (never loaded whole). */
"use strict";

(function (ui) {
  const { LOG_PAGE, LOG_KEEP, h, clear, replace, fmtTime, fmtClock, api } = ui;

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
        h("span", { class: "msg", "data-truncated": item.truncated ? "true" : null }, highlight(item.message, q)));
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

  ui.logsPanel = logsPanel;
}(window.pysetlUI));
