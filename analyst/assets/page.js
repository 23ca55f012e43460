/* The analyst page: renders the JSON written by analyst/render.py. No network, no eval, no innerHTML of data:
   every text from the warehouse (titles, messages, report text: hostile input) goes in through textContent. */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("ogi-data").textContent);
  const L = D.labels;
  const FONT = getComputedStyle(document.documentElement).getPropertyValue("--font").trim() || "sans-serif";
  const PAGE = 200; // findings rows rendered per "show more"

  // ---------------------------------------------------------------- helpers
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) for (const k in attrs) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined && kid !== false) e.append(kid);
    return e;
  }
  function rows(fields, arr) {
    return arr.map((a) => { const o = {}; fields.forEach((f, i) => (o[f] = a[i])); return o; });
  }
  const fmtInt = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("zh-CN"));
  const fmtPct = (v) => (v === null || v === undefined || !isFinite(v) ? "–" : (100 * v).toFixed(1) + "%");
  const formatOfYear = (y) => (y >= 2021 ? "2021" : y >= 2019 ? "2019" : "legacy");
  const FORMAT_LABEL = { "2021": ["2021版", "2021 format (国办公开办函〔2021〕30号)"], "2019": ["2019版", "2019 format (国办公开办函〔2019〕60号)"], legacy: ["旧版", "before the 2019 format (free form)"], unknown: ["未识别", "format not recognised"] };
  const stateLabel = {}; L.states.forEach(([k, zh, en]) => (stateLabel[k] = { zh, en }));
  const STATE_SHORT = { not_parsed: "?", image_only: "图", malformed: "误", late: "迟", date_unknown: "✓", on_time: "✓", missing: "缺" };
  const ruleLabel = (id) => L.rules[id] || { zh: id, en: id, severity: "" };
  function keyLabel(tbl, row, col, template) {
    const spec = ((L.tables[template] || L.tables["2021"]) || {})[tbl];
    let r = null, c = null;
    if (spec) for (const b of spec.blocks) {
      const rr = b.rows.find((x) => x[0] === row); const cc = b.cols.find((x) => x[0] === col);
      if (rr && cc) { r = rr; c = cc; break; }
      if (rr && !r) r = rr;
    }
    const zh = [r ? r[1] : row, c ? c[1] : col].filter(Boolean).join(" · ");
    const en = [r ? r[2] : row, c ? c[2] : col].filter(Boolean).join(" / ");
    return { zh: (tbl ? tbl.replace("t", "表") + " " : "") + zh, en: `${tbl}/${row}/${col} — ${en}` };
  }
  function srcLink(url) {
    return url ? el("a", { class: "src", href: url, target: "_blank", rel: "noopener noreferrer", title: url, text: "原文↗" }) : null;
  }

  const P = D.portals;
  const I = D.issuers;
  const R = rows(D.report_fields, D.reports);
  const F = rows(D.finding_fields, D.findings);
  const countyOf = (p) => P[p].county || P[p].name || P[p].portal_id;
  function reportButton(ri, text) {
    const r = R[ri];
    return el("button", { type: "button", class: "linkbtn", dataset: { r: ri }, text: text || r.title || r.url || r.id, title: "打开详情 / open the drill-down", onclick: () => openDrill(ri) });
  }
  function reportLine(ri, extra) {
    const r = R[ri];
    return el("li", null, reportButton(ri), " ", el("span", { class: "en", text: `${P[r.portal].name} · ${r.year ?? "?"}` }), srcLink(r.url), extra || null);
  }

  // ---------------------------------------------------------------- header and summary
  function renderMeta() {
    const m = D.meta;
    const run = m.run;
    document.getElementById("meta").textContent =
      `生成于 ${m.generated_at} · 数据库 ${m.source} (schema v${m.schema_version}${m.upgraded ? "，已在临时副本上升级读取 / read from an upgraded temporary copy" : ""})` +
      ` · 判定日期 as-of ${m.as_of}` + (run ? ` · 最近运行 ${run.run_id} (${run.status})` : " · 尚无运行记录 / no run yet") +
      (m.filters ? ` · 筛选 ${m.filters}` : "");
    document.getElementById("footer").textContent =
      `ogi ${m.ogi_version} · ${m.library} · ${R.length} 份报告 · 页面离线可用 / works offline`;
    const live = R.filter((r) => !r.withdrawn);
    const cards = [
      [live.filter((r) => r.status !== "not_parsed").length, "报告", "reports (latest revisions, live)"],
      [P.length, "门户", "portals"],
      [I.length, "发布机关", "issuers"],
      [live.filter((r) => r.status === "malformed").length, "数据有误", "malformed reports"],
      [F.filter((f) => f.severity === "error").length, "错误", "error findings"],
      [D.cells.filter((c) => c[2] === "missing").length, "缺报", "missing issuer-years"],
    ];
    const box = document.getElementById("summary");
    for (const [n, zh, en] of cards) box.append(el("div", { class: "card", title: en, dataset: { card: en } }, el("b", { text: fmtInt(n) }), el("span", { text: zh })));
  }

  // ---------------------------------------------------------------- coverage heatmap
  const cellsByIssuer = new Map();
  for (const c of D.cells) {
    if (!cellsByIssuer.has(c[0])) cellsByIssuer.set(c[0], new Map());
    cellsByIssuer.get(c[0]).set(c[1], c);
  }
  function cellTitle(iss, y, c) {
    const s = stateLabel[c[2]];
    const lines = [`${iss.name} · ${y} 年度`, `${s.zh} — ${s.en}`];
    if (c[2] === "missing") {
      lines.push(c[4] ? "xr.missing: 上一年度已发布 / published the year before" : "截止日期已过且此前发布过 / deadline passed, published in an earlier year");
    }
    for (const ri of c[3]) {
      const r = R[ri];
      lines.push(`· ${r.title || r.url}`, `  发布日期 published ${r.published || "不明 unknown"} · 截止 deadline ${r.deadline || "–"} · ${(FORMAT_LABEL[r.template] || [r.template])[0]}`);
    }
    if (c[3].length) lines.push("点击查看详情；Ctrl/⌘+点击打开原文 / click: drill-down, Ctrl+click: source page");
    return lines.join("\n");
  }
  function renderHeatmap() {
    const sel = document.getElementById("hm-portal");
    P.forEach((p, i) => sel.append(el("option", { value: i, text: `${p.name} (${p.portal_id})` })));
    const legend = document.getElementById("hm-legend");
    const counts = {}; D.cells.forEach((c) => (counts[c[2]] = (counts[c[2]] || 0) + 1));
    for (const [k, zh, en] of L.states) {
      legend.append(el("span", { title: en, dataset: { state: k } }, el("span", { class: "sw s-" + k, style: k === "missing" ? null : `background: var(--s-${k})` }), `${zh} `, el("b", { class: "count", text: String(counts[k] || 0) })));
    }
    const table = document.getElementById("heatmap");
    const head = el("tr", null, el("th", { class: "issuer", text: "发布机关 / issuer" }));
    for (const y of D.years) {
      const f = FORMAT_LABEL[formatOfYear(y)];
      head.append(el("th", { title: `${y}: ${f[1]}`, dataset: { year: y } }, String(y), el("br"), el("span", { class: "en", text: f[0] })));
    }
    table.append(el("thead", null, head));
    const body = el("tbody");
    let lastPortal = -1;
    I.forEach((iss, ii) => {
      if (iss.portal !== lastPortal) {
        lastPortal = iss.portal;
        const p = P[iss.portal];
        body.append(el("tr", { class: "group", dataset: { portal: iss.portal } }, el("th", { colspan: D.years.length + 1, text: `${p.name} · ${[p.province, p.city, p.county].filter(Boolean).join(" ")} · ${p.portal_id}` })));
      }
      const t = L.issuer_types[iss.type] || [iss.type, iss.type];
      const tr = el("tr", { class: "issuer-row", dataset: { portal: iss.portal, issuer: ii, name: iss.name } }, el("th", { class: "issuer", title: `${iss.name} — ${t[0]} / ${t[1]}`, text: iss.name }));
      const mine = cellsByIssuer.get(ii);
      for (const y of D.years) {
        const c = mine && mine.get(y);
        if (!c) { tr.append(el("td")); continue; }
        const main = c[3].length ? R[c[3][0]] : null;
        const attrs = { class: "cell s-" + c[2], title: cellTitle(iss, y, c), dataset: { state: c[2], year: y, reports: c[3].length } };
        let node;
        if (main && main.url) {
          node = el("a", Object.assign(attrs, { href: main.url, target: "_blank", rel: "noopener noreferrer" }));
          node.addEventListener("click", (ev) => { if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return; ev.preventDefault(); openDrill(c[3][0]); });
        } else if (main) {
          node = el("span", attrs); node.style.cursor = "pointer"; node.addEventListener("click", () => openDrill(c[3][0]));
        } else node = el("span", attrs);
        node.append(STATE_SHORT[c[2]] || "");
        if (c[3].length > 1) node.append(el("span", { class: "n", text: String(c[3].length) }));
        tr.append(el("td", null, node));
      }
      body.append(tr);
    });
    table.append(body);
    const search = document.getElementById("hm-search");
    function apply() {
      const p = sel.value, q = search.value.trim();
      for (const tr of body.children) {
        const okP = !p || tr.dataset.portal === p;
        const okQ = !q || tr.classList.contains("group") || (tr.dataset.name || "").includes(q);
        tr.hidden = !(okP && okQ);
      }
    }
    sel.addEventListener("change", apply); search.addEventListener("input", apply);
  }

  // ---------------------------------------------------------------- last night
  function renderLastRun() {
    const box = document.getElementById("lastrun-body");
    const lr = D.last_run;
    if (!lr) { box.append(el("p", { class: "hint", text: "仓库中还没有运行记录 / the warehouse has no run yet." })); return; }
    const run = lr.run;
    box.append(el("p", { class: "meta", id: "lastrun-meta", text: `运行 ${run.run_id} · ${run.mode} · 状态 ${run.status} · 开始 ${run.started_at} · 结束 ${run.finished_at || "–"} · 判定日期 ${run.as_of || "–"} · ${run.portals ?? "?"} 个门户（失败 ${run.portals_failed ?? 0}）· ${run.documents ?? "?"} 份文档` }));
    if (run.error) box.append(el("p", { class: "sev-error", text: "运行失败 / run failed: " + run.error }));
    const groups = [
      ["new", "新增报告", "New reports", lr.new.map((ri) => reportLine(ri))],
      ["revised", "修订报告", "Revised reports (changed cells: old → new)", lr.revised.map(([ri, rev, ch]) => reportLine(ri, changesTable(ri, rev, ch)))],
      ["malformed", "数据有误", "Malformed (error findings)", lr.malformed.map((ri) => reportLine(ri, errorList(ri)))],
      ["not_parsed", "未能解析", "Not parsed", lr.not_parsed.map((ri) => reportLine(ri, el("div", { class: "en", text: R[ri].reason || "" })))],
      ["withdrawn", "已撤下", "Withdrawn", lr.withdrawn.map((ri) => reportLine(ri))],
      ["failed", "抓取或读取失败", "Failed fetches and unreadable documents", lr.failed.map(([p, url, kind, reason]) =>
        el("li", null, el("b", { text: kind + " " }), url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url }) : "", el("span", { class: "en", text: ` ${p !== null ? P[p].portal_id : ""} — ${reason || ""}` })))],
      ["portals_failed", "门户抓取失败", "Portals that could not be crawled", lr.portals_failed.map(([p, err]) => el("li", null, el("b", { text: P[p].name + " " }), el("span", { class: "en", text: err || "" })))],
    ];
    for (const [key, zh, en, items] of groups) {
      const h = el("h3", { title: en, dataset: { group: key } }, `${zh} `, el("span", { class: "count", text: String(items.length) }), el("small", { class: "en", text: " " + en }));
      h.style.fontSize = "14px"; h.style.margin = "10px 0 2px";
      if (!items.length) { box.append(h); continue; }
      // long lists (a first run lists every report as new) start folded
      const det = el("details", { open: items.length <= 12 }, el("summary", null, h), el("ul", { class: "items", dataset: { group: key } }, ...items));
      box.append(det);
    }
  }
  function changesTable(ri, rev, changes) {
    const t = el("table", { class: "changes" });
    t.append(el("caption", { class: "en", text: `修订 revision ${rev - 1} → ${rev}: ${changes.length} 个单元格变化 cells changed` }));
    const line = ([tbl, row, col, oldRaw, newRaw]) => {
      const k = keyLabel(tbl, row, col, R[ri].template);
      return el("tr", { title: k.en }, el("td", { text: k.zh }), el("td", null, el("span", { class: "old", text: oldRaw ?? "（无）" }), " → ", el("span", { class: "new", text: newRaw ?? "（无）" })));
    };
    changes.slice(0, 8).forEach((c) => t.append(line(c)));
    if (changes.length <= 8) return t;
    const more = el("table", { class: "changes" }, ...changes.slice(8).map(line));
    return el("div", null, t, el("details", null, el("summary", { class: "en", text: `另有 ${changes.length - 8} 处变化 / ${changes.length - 8} more` }), more));
  }
  function errorList(ri) {
    const errs = F.filter((f) => f.report === ri && f.severity === "error");
    return el("div", { class: "en" }, errs.map((f) => `${f.rule}: ${f.message}`).join("；"));
  }

  // ---------------------------------------------------------------- trends
  const T3 = rows(D.t3_fields, D.t3);
  const T4 = rows(D.t4_fields, D.t4);
  const charts = {};
  function eligible(ri, county, scope, excl) {
    const r = R[ri];
    if (r.withdrawn || r.duplicate || r.status === "not_parsed" || r.year === null) return false;
    if (excl && r.status === "malformed") return false;
    if (scope === "county_government" && I[r.issuer].type !== "county_government") return false;
    if (county && countyOf(r.portal) !== county) return false;
    return true;
  }
  function sumBy(rowsIn, fields, county, scope, excl) {
    const out = new Map();
    for (const t of rowsIn) {
      if (!eligible(t.report, county, scope, excl)) continue;
      const y = R[t.report].year;
      if (!out.has(y)) out.set(y, { reports: 0, templates: {} });
      const acc = out.get(y);
      acc.reports++;
      const tpl = R[t.report].template; acc.templates[tpl] = (acc.templates[tpl] || 0) + 1;
      for (const f of fields) if (t[f] !== null && t[f] !== undefined) acc[f] = (acc[f] || 0) + t[f];
    }
    return out;
  }
  const T3F = L.t3.map((m) => m.key);
  const T4F = D.t4_fields.slice(1);
  function trendRows(county, scope, excl) {
    const a = sumBy(T3, T3F, county, scope, excl);
    const b = sumBy(T4, T4F, county, scope, excl);
    const years = D.years.filter((y) => a.has(y) || b.has(y));
    return years.map((y) => {
      const t = a.get(y) || { reports: 0, templates: {} }, u = b.get(y) || { reports: 0 };
      const handled = t.total_handled || 0;
      const share = (k) => (handled ? (t[k] || 0) / handled : null);
      const lit = (o) => (u["litigation_direct_" + o] || 0) + (u["litigation_after_review_" + o] || 0);
      return {
        year: y, reports: t.reports, templates: t.templates, received: t.received ?? null, handled: t.total_handled ?? null,
        granted: (t.granted || 0) + (t.partially_granted || 0),
        rate: handled ? ((t.granted || 0) + (t.partially_granted || 0)) / handled : null,
        denied: share("denied"), unable: share("unable"), rejected: share("rejected"),
        t4reports: u.reports,
        review: ["upheld", "corrected", "other", "pending"].map((o) => u["review_" + o] || 0), review_total: u.review_total ?? null,
        litigation: ["upheld", "corrected", "other", "pending"].map(lit), litigation_total: (u.litigation_direct_total || 0) + (u.litigation_after_review_total || 0),
      };
    });
  }
  const t3zh = (k) => L.t3.find((m) => m.key === k);
  const t4col = (k) => L.t4.cols.find((c) => c[0] === k);
  const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#f59e0b", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5", "#0d9488", "#a16207"];
  function yearLabels(tr) { return tr.map((t) => String(t.year)); }
  function tooltipYear(items) {
    const y = Number(items[0].label); const f = FORMAT_LABEL[formatOfYear(y)];
    return `${y} 年度 · ${f[0]} (${f[1]})`;
  }
  function makeChart(id, type, opts) {
    const ctx = document.getElementById(id);
    charts[id] = new Chart(ctx, {
      type, data: { labels: [], datasets: [] },
      options: Object.assign({
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } }, tooltip: { callbacks: { title: tooltipYear } } },
      }, opts || {}),
    });
  }
  function pctAxis() { return { y: { beginAtZero: true, ticks: { callback: (v) => (100 * v).toFixed(0) + "%" } } }; }
  function pctTooltip() { return { callbacks: { title: tooltipYear, label: (c) => `${c.dataset.label}: ${fmtPct(c.parsed.y)}` } }; }
  function renderTrendsInit() {
    const sel = document.getElementById("tr-county");
    [...new Set(P.map((p, i) => countyOf(i)))].sort().forEach((c) => sel.append(el("option", { value: c, text: c })));
    const rec = t3zh("received"), tot = t3zh("total_handled");
    setCap("cap-received", `${rec.zh}`, `Table 三 row ${rec.en} (总计 column), summed over reports`);
    setCap("cap-rate", "公开率（予以公开 + 部分公开）÷（七）总计", "Grant rate: (granted + partially granted) / total handled, sums over reports");
    setCap("cap-shares", `不予公开、无法提供、不予处理 占（七）总计`, `Shares of ${tot.en}: denied, unable to provide, not processed`);
    setCap("cap-review", "表四 行政复议结果", "Table 四: administrative review outcomes");
    setCap("cap-litigation", "表四 行政诉讼结果（未经复议 + 复议后）", "Table 四: litigation outcomes (direct + after review)");
    setCap("cap-counties", `各县 ${rec.zh}`, "New applications per county (all issuers of the county)");
    makeChart("ch-received", "bar", { plugins: { legend: { display: false }, tooltip: { callbacks: { title: tooltipYear } } }, scales: { y: { beginAtZero: true } } });
    makeChart("ch-rate", "line", { scales: pctAxis(), plugins: { legend: { display: false }, tooltip: pctTooltip() } });
    makeChart("ch-shares", "line", { scales: pctAxis(), plugins: { legend: { position: "bottom" }, tooltip: pctTooltip() } });
    makeChart("ch-review", "bar", { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } });
    makeChart("ch-litigation", "bar", { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } });
    makeChart("ch-counties", "line", { scales: { y: { beginAtZero: true } } });
    for (const id of ["tr-county", "tr-scope", "tr-excl"]) document.getElementById(id).addEventListener("change", renderTrends);
  }
  function setCap(id, zh, en) { const c = document.getElementById(id); c.textContent = zh; c.title = en; }
  function setData(id, labels, datasets) { const ch = charts[id]; ch.data.labels = labels; ch.data.datasets = datasets; ch.update("none"); }
  function renderTrends() {
    const county = document.getElementById("tr-county").value;
    const scope = document.getElementById("tr-scope").value;
    const excl = document.getElementById("tr-excl").checked;
    const tr = trendRows(county, scope, excl);
    const labels = yearLabels(tr);
    setData("ch-received", labels, [{ label: t3zh("received").zh, data: tr.map((t) => t.received), backgroundColor: PALETTE[0] }]);
    setData("ch-rate", labels, [{ label: "公开率", data: tr.map((t) => t.rate), borderColor: PALETTE[2], backgroundColor: PALETTE[2] }]);
    setData("ch-shares", labels, ["denied", "unable", "rejected"].map((k, i) => ({ label: t3zh(k).zh, data: tr.map((t) => t[k]), borderColor: PALETTE[i + 1], backgroundColor: PALETTE[i + 1] })));
    const outcomes = ["upheld", "corrected", "other", "pending"];
    setData("ch-review", labels, outcomes.map((o, i) => ({ label: t4col(o)[1], data: tr.map((t) => t.review[i]), backgroundColor: PALETTE[i] })));
    setData("ch-litigation", labels, outcomes.map((o, i) => ({ label: t4col(o)[1], data: tr.map((t) => t.litigation[i]), backgroundColor: PALETTE[i] })));
    // per county: the counties with most applications (a dozen lines stay readable)
    const fig = document.getElementById("fig-counties");
    if (county) fig.hidden = true;
    else {
      fig.hidden = false;
      const counties = [...new Set(P.map((p, i) => countyOf(i)))];
      const per = counties.map((c) => ({ c, tr: trendRows(c, scope, excl) })).map((o) => ({ c: o.c, by: new Map(o.tr.map((t) => [t.year, t.received])), total: o.tr.reduce((s, t) => s + (t.received || 0), 0) }));
      per.sort((a, b) => b.total - a.total);
      const top = per.slice(0, PALETTE.length);
      setCap("cap-counties", `各县 ${t3zh("received").zh}` + (per.length > top.length ? `（前 ${top.length} 个县，共 ${per.length}）` : ""), "New applications per county");
      setData("ch-counties", labels, top.map((o, i) => ({ label: o.c, data: tr.map((t) => o.by.get(t.year) ?? null), borderColor: PALETTE[i], backgroundColor: PALETTE[i] })));
    }
    renderTrendTable(tr);
  }
  function renderTrendTable(tr) {
    const t = document.getElementById("trend-table");
    t.replaceChildren();
    const cols = [
      ["year", "年度", "Report year"], ["format", "格式", "Formats of the reports (detected from the tables)"], ["reports", "报告数", "Reports with a table 三"],
      ["received", t3zh("received").zh, t3zh("received").en], ["granted", "予以公开+部分公开", "Granted + partially granted"], ["handled", t3zh("total_handled").zh, t3zh("total_handled").en],
      ["rate", "公开率", "Grant rate (incl. partial)"], ["denied", "不予公开占比", "Denied share"], ["unable", "无法提供占比", "Unable share"], ["rejected", "不予处理占比", "Not processed share"],
      ["review_total", "行政复议", "Administrative reviews (total)"], ["litigation_total", "行政诉讼", "Lawsuits (direct + after review)"],
    ];
    t.append(el("thead", null, el("tr", null, ...cols.map(([k, zh, en]) => el("th", { class: k === "year" || k === "format" ? "" : "num", title: en, text: zh })))));
    const body = el("tbody");
    for (const r of tr) {
      const tpl = Object.entries(r.templates).map(([k, n]) => `${(FORMAT_LABEL[k] || [k])[0]}×${n}`).join(" ");
      const vals = { year: String(r.year), format: tpl, reports: fmtInt(r.reports), received: fmtInt(r.received), granted: fmtInt(r.granted), handled: fmtInt(r.handled), rate: fmtPct(r.rate), denied: fmtPct(r.denied), unable: fmtPct(r.unable), rejected: fmtPct(r.rejected), review_total: fmtInt(r.review_total), litigation_total: fmtInt(r.litigation_total) };
      body.append(el("tr", { dataset: { year: r.year } }, ...cols.map(([k]) => el("td", { class: k === "year" || k === "format" ? "" : "num", dataset: { k }, text: vals[k] }))));
    }
    t.append(body);
  }

  // ---------------------------------------------------------------- findings
  const FS = { rule: "", severity: "", portal: "", year: "", text: "", shown: PAGE };
  function findingPortal(f) { return f.report !== null ? R[f.report].portal : f.portal; }
  function findingYear(f) { return f.report !== null ? R[f.report].year : f.year; }
  function findingAgency(f) { return f.report !== null ? R[f.report].agency || "" : f.agency || ""; }
  function renderFindingsInit() {
    const add = (id, values) => { const s = document.getElementById(id); for (const [v, t, title] of values) s.append(el("option", { value: v, text: t, title })); };
    const ruleIds = [...new Set(F.map((f) => f.rule))].sort();
    add("f-rule", ruleIds.map((r) => [r, r, ruleLabel(r).en]));
    add("f-severity", ["error", "warning", "info"].filter((s) => F.some((f) => f.severity === s)).map((s) => [s, `${L.severities[s][0]} ${s}`, L.severities[s][1]]));
    add("f-portal", P.map((p, i) => [String(i), p.name, p.portal_id]).filter(([i]) => F.some((f) => String(findingPortal(f)) === i)));
    add("f-year", [...new Set(F.map(findingYear).filter((y) => y !== null && y !== undefined))].sort().map((y) => [String(y), String(y), formatOfYear(y)]));
    for (const [id, k] of [["f-rule", "rule"], ["f-severity", "severity"], ["f-portal", "portal"], ["f-year", "year"]]) {
      document.getElementById(id).addEventListener("change", (e) => { FS[k] = e.target.value; FS.shown = PAGE; renderFindings(); });
    }
    document.getElementById("f-text").addEventListener("input", (e) => { FS.text = e.target.value.trim(); FS.shown = PAGE; renderFindings(); });
    document.getElementById("findings-more").addEventListener("click", () => { FS.shown += PAGE; renderFindings(); });
  }
  function findingMatches(f, ignoreRule) {
    if (!ignoreRule && FS.rule && f.rule !== FS.rule) return false;
    if (FS.severity && f.severity !== FS.severity) return false;
    if (FS.portal && String(findingPortal(f)) !== FS.portal) return false;
    if (FS.year && String(findingYear(f)) !== FS.year) return false;
    if (FS.text && !(findingAgency(f).includes(FS.text) || (f.message || "").includes(FS.text))) return false;
    return true;
  }
  function renderFindings() {
    // counts per rule under the other filters (so the list shows where a click on a rule would lead)
    const counts = new Map();
    for (const f of F) if (findingMatches(f, true)) counts.set(f.rule, (counts.get(f.rule) || 0) + 1);
    const rc = document.getElementById("rule-counts");
    rc.replaceChildren(el("thead", null, el("tr", null, el("th", { text: "规则 rule" }), el("th", { text: "严重程度" }), el("th", { class: "num", text: "数量" }))));
    const rb = el("tbody");
    [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).forEach(([rule, n]) => {
      const lab = ruleLabel(rule);
      rb.append(el("tr", { class: rule === FS.rule ? "active" : "", dataset: { rule }, title: `${lab.zh}\n${lab.en}`, onclick: () => { FS.rule = FS.rule === rule ? "" : rule; document.getElementById("f-rule").value = FS.rule; FS.shown = PAGE; renderFindings(); } },
        el("td", null, el("code", { text: rule })), el("td", { class: "sev-" + lab.severity, text: (L.severities[lab.severity] || [lab.severity])[0] }), el("td", { class: "num", text: String(n) })));
    });
    rc.append(rb);
    const list = F.filter((f) => findingMatches(f, false));
    const t = document.getElementById("findings-table");
    t.replaceChildren(el("thead", null, el("tr", null, ...["严重程度", "规则", "发布机关", "年度", "门户", "说明", "应为 / 实为", "单元格"].map((h) => el("th", { text: h })))));
    const body = el("tbody");
    for (const f of list.slice(0, FS.shown)) {
      const lab = ruleLabel(f.rule);
      const p = findingPortal(f);
      const agency = f.report !== null ? reportButton(f.report, findingAgency(f) || R[f.report].title) : el("span", null, findingAgency(f), srcLink(f.url));
      const cell = f.tbl ? keyLabel(f.tbl, f.row, f.col, f.report !== null ? R[f.report].template : "2021") : null;
      body.append(el("tr", { dataset: { rule: f.rule, severity: f.severity } },
        el("td", { class: "sev-" + f.severity, text: (L.severities[f.severity] || [f.severity])[0] }),
        el("td", { title: `${lab.zh}\n${lab.en}` }, el("code", { text: f.rule })),
        el("td", null, agency), el("td", { text: String(findingYear(f) ?? "") }), el("td", { text: P[p] ? P[p].name : "" }),
        el("td", { text: f.message || "" }),
        el("td", { class: "num", text: f.expected !== null || f.actual !== null ? `${f.expected ?? "–"} / ${f.actual ?? "–"}` : "" }),
        el("td", { title: cell ? cell.en : "", text: cell ? cell.zh : "" })));
    }
    t.append(body);
    document.getElementById("findings-count").textContent = `显示 ${Math.min(FS.shown, list.length)} / 符合条件 ${list.length} / 共 ${F.length} 条 (shown / matching / total)`;
    document.getElementById("findings-count").dataset.matching = list.length;
    document.getElementById("findings-more").hidden = list.length <= FS.shown;
  }

  // ---------------------------------------------------------------- drill-down
  const chunkCache = new Map();
  async function loadChunk(i) {
    if (!chunkCache.has(i)) {
      chunkCache.set(i, (async () => {
        const b64 = document.getElementById("dd-" + i).textContent.trim();
        const bin = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
        const stream = new Blob([bin]).stream().pipeThrough(new DecompressionStream("gzip"));
        return JSON.parse(await new Response(stream).text());
      })());
    }
    return chunkCache.get(i);
  }
  async function drillData(ri) {
    const ci = D.dd[ri];
    const chunk = await loadChunk(ci);
    const first = D.dd.indexOf(ci);
    return chunk[ri - first];
  }
  async function openDrill(ri) {
    const dlg = document.getElementById("drill");
    const body = document.getElementById("drill-body");
    const r = R[ri];
    body.replaceChildren(el("p", { class: "hint", text: "载入中… / loading" }));
    if (!dlg.open) dlg.showModal();
    history.replaceState(null, "", "#r=" + r.id);
    let dd;
    try { dd = await drillData(ri); } catch (e) { body.replaceChildren(el("p", { class: "sev-error", text: "无法解码详情 / cannot decode the drill-down: " + e })); return; }
    body.replaceChildren(...drillContent(ri, dd || { p: [], f: [], s: [], v: [], t: null }));
    body.dataset.report = r.id;
    dlg.dataset.ready = "1";
  }
  function drillContent(ri, dd) {
    const r = R[ri];
    const out = [];
    const st = L.report_status[r.status] || [r.status, r.status];
    out.push(el("h3", { id: "drill-title", text: r.title || r.url }));
    out.push(el("p", null, `${r.agency || "（机关不明）"} · ${r.year ?? "?"} 年度 · `, el("span", { title: (FORMAT_LABEL[r.template] || ["", r.template])[1], text: (FORMAT_LABEL[r.template] || [r.template])[0] }), " · ",
      el("b", { class: r.status === "ok" ? "" : "sev-error", title: st[1], text: st[0] }),
      ` · 发布 ${r.published || "日期不明"} · 截止 ${r.deadline || "–"}${r.late ? "（逾期）" : ""}${r.withdrawn ? " · 已撤下 withdrawn" : ""}`));
    const prov = el("div", { class: "prov" },
      "原文 source: ", r.url ? el("a", { href: r.url, target: "_blank", rel: "noopener noreferrer", text: r.url }) : "–", el("br"),
      "原始文档哈希 archive sha256: ", el("code", { text: dd.p[0] || "–" }), ` · 修订 revision ${r.revision} · ${r.kind || ""} · 首次发现 ${dd.p[1] || "–"} · 最近变更 ${dd.p[2] || "–"}`);
    if (dd.v.length) {
      prov.append(el("br"), "修订历史 revisions: ", dd.v.map(([n, at, run, status, sha]) => `#${n} ${at} (${status}, run ${run}, ${String(sha || "").slice(0, 12)})`).join(" · "));
    }
    out.push(prov);
    if (r.reason) out.push(el("p", { class: "sev-error", text: "未解析原因 reason: " + r.reason }));
    const fs = F.filter((f) => f.report === ri);
    if (fs.length) {
      out.push(el("h4", { text: `质量问题 findings (${fs.length})` }));
      out.push(el("ul", { class: "items" }, ...fs.map((f) => el("li", { title: ruleLabel(f.rule).en }, el("span", { class: "sev-" + f.severity, text: f.severity + " " }), el("code", { text: f.rule }), " ", f.message || ""))));
    }
    // tables as extracted, laid out like the official form; failing cells highlighted
    const bad = new Map();
    for (const f of fs) if (f.tbl && f.row && f.col && f.severity !== "info") {
      const k = `${f.tbl}|${f.row}|${f.col}`; bad.set(k, (bad.get(k) ? bad.get(k) + "\n" : "") + `${f.rule}: ${f.message}`);
    }
    const facts = new Map(dd.f.map((x) => [x[0], x]));
    const used = new Set();
    const specs = L.tables[r.template];
    for (const tkey of ["t3", "t4", "t2"]) {  // the tables the arithmetic rules check come first
      const spec = specs && specs[tkey];
      const mine = dd.f.filter((x) => x[0].startsWith(tkey + "|"));
      if (!spec || !mine.length) continue;
      out.push(el("h4", { text: spec.title }));
      for (const b of spec.blocks) {
        const t = el("table", { class: "form", dataset: { table: tkey, block: b.title } });
        t.append(el("tr", null, el("th", { text: b.title }), ...b.cols.map(([k, zh, en]) => el("th", { title: `${k} — ${en}`, text: zh }))));
        for (const [rk, rzh, ren] of b.rows) {
          const tr = el("tr", null, el("th", { title: `${rk} — ${ren}`, text: rzh }));
          for (const [ck, , cen] of b.cols) {
            const key = `${tkey}|${rk}|${ck}`;
            const x = facts.get(key);
            used.add(key);
            const why = bad.get(key);
            const td = el("td", { dataset: { key }, class: [why ? "bad" : "", x ? (x[2] ? "iz" : "") : "absent"].filter(Boolean).join(" ") || null,
              title: `${rk} / ${ck} (${ren} / ${cen})` + (x ? `\n原文 printed: “${x[1] ?? ""}”${x[2] ? "（空白计零 blank read as 0）" : ""}\n位置 table ${x[3]}, row ${x[4]}, col ${x[5]}` : "\n未读到 not read") + (why ? "\n" + why : ""),
              text: x ? (x[1] === "" || x[1] === null ? (x[2] ? "0" : "") : x[1]) : "" });
            tr.append(td);
          }
          t.append(tr);
        }
        out.push(el("div", { class: "scroll" }, t));
      }
    }
    const rest = dd.f.filter((x) => !used.has(x[0]));
    if (rest.length) {
      out.push(el("h4", { text: `其他数据项 other facts (${rest.length})` }));
      out.push(el("table", { class: "data" }, ...rest.map((x) => el("tr", { class: bad.get(x[0]) ? "sev-error" : "" }, el("td", null, el("code", { text: x[0] })), el("td", { text: x[1] ?? "" }), el("td", { text: bad.get(x[0]) || "" })))));
    }
    out.push(el("h4", { text: "正文 sections" }));
    const secs = el("div", { class: "sec" });
    if (dd.s.length) for (const [n, heading, text] of dd.s) secs.append(el("h4", { text: heading || `第${n}部分` }), el("p", { text: text || "（见表格 / see the table）" }));
    else secs.append(el("p", { text: dd.t || "（未找到法定章节 / no statutory section found）" }));
    out.push(secs);
    return out;
  }

  // ---------------------------------------------------------------- boot
  function boot() {
    if (window.Chart) { Chart.defaults.font.family = FONT; Chart.defaults.animation = false; }
    renderMeta();
    renderHeatmap();
    renderLastRun();
    renderTrendsInit();
    renderTrends();
    renderFindingsInit();
    renderFindings();
    const m = location.hash.match(/^#r=([0-9a-zA-Z_-]+)$/);
    if (m) { const ri = R.findIndex((r) => r.id === m[1]); if (ri >= 0) openDrill(ri); }
    document.getElementById("drill").addEventListener("close", () => { if (location.hash.startsWith("#r=")) history.replaceState(null, "", location.pathname + location.search); });
    window.OGI = { data: D, charts, reports: R, findings: F, openDrill, trendRows };
    requestAnimationFrame(() => { document.body.dataset.ready = "1"; window.OGI.renderedAt = performance.now(); });
  }
  boot();
})();
