"use strict";
// Harrier's hunt report. The data is in #harrier-data: rules, a string table and hits as
// arrays [rule, time_ms, host, user, process, source, record, [name, value, ...]] whose text
// values are indices into the string table (-1: absent).
(function () {
  const D = JSON.parse(document.getElementById("harrier-data").textContent);
  const S = D.strings, R = D.rules, H = D.hits;
  const RULE = 0, TIME = 1, HOST = 2, USER = 3, PROC = 4, SRC = 5, REC = 6, FIELDS = 7;
  const LEVELS = ["critical", "high", "medium", "low", "informational"];
  const LEVEL_RANK = Object.fromEntries(LEVELS.map((level, rank) => [level, rank]));
  const ROW_HEIGHT = 26;
  const $ = (id) => document.getElementById(id);
  const text = (index) => (index < 0 ? "" : S[index]);
  const fmt = (n) => n.toLocaleString("en-US");
  const time = (ms) => (ms == null ? "" : new Date(ms).toISOString().replace("T", " ").slice(0, 19));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "style") node.style.cssText = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child != null) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // What the table shows: the active filters, then the sort.
  const filter = { text: "", level: "", rule: -1, technique: "", host: -1, user: -1, process: -1, from: null, to: null };
  const sort = { key: "time", dir: 1 };
  let shown = [];
  let selected = -1;

  const ruleTechniques = R.map((rule) => new Set(rule.techniques.map((technique) => technique.id)));
  const ruleLevel = R.map((rule) => LEVEL_RANK[rule.level] ?? LEVELS.length);
  let lowerStrings = null; // the string table in lower case, made on the first text filter

  function textMatches(query) {
    lowerStrings = lowerStrings || S.map((value) => value.toLowerCase());
    const inStrings = new Uint8Array(S.length);
    for (let i = 0; i < S.length; i++) if (lowerStrings[i].includes(query)) inStrings[i] = 1;
    const inRules = R.map((rule) => (rule.title + " " + (rule.id || "") + " " + rule.techniques.map((t) => t.id).join(" ")).toLowerCase().includes(query));
    return (hit) => {
      if (inRules[hit[RULE]]) return true;
      if (hit[SRC] >= 0 && inStrings[hit[SRC]]) return true;
      const fields = hit[FIELDS];
      for (let i = 1; i < fields.length; i += 2) if (inStrings[fields[i]]) return true;
      return false;
    };
  }

  function applyFilters() {
    const query = filter.text.trim().toLowerCase();
    const byText = query ? textMatches(query) : null;
    shown = [];
    for (let i = 0; i < H.length; i++) {
      const hit = H[i];
      if (filter.level && R[hit[RULE]].level !== filter.level) continue;
      if (filter.rule >= 0 && hit[RULE] !== filter.rule) continue;
      if (filter.technique && !ruleTechniques[hit[RULE]].has(filter.technique)) continue;
      if (filter.host >= 0 && hit[HOST] !== filter.host) continue;
      if (filter.user >= 0 && hit[USER] !== filter.user) continue;
      if (filter.process >= 0 && hit[PROC] !== filter.process) continue;
      if (filter.from != null && (hit[TIME] == null || hit[TIME] < filter.from || hit[TIME] >= filter.to)) continue;
      if (byText && !byText(hit)) continue;
      shown.push(i);
    }
    sortShown();
    renderChips();
    $("shown").textContent = shown.length === H.length ? fmt(H.length) + " hits" : fmt(shown.length) + " of " + fmt(H.length) + " hits";
    $("shown").dataset.count = shown.length;
    for (const card of document.querySelectorAll(".card[data-level]")) card.classList.toggle("active", card.dataset.level === filter.level);
    for (const cell of document.querySelectorAll(".cell")) cell.classList.toggle("active", cell.dataset.technique === filter.technique);
    $("scroller").scrollTop = 0;
    renderRows();
  }

  const SORT_KEYS = {
    time: (hit) => (hit[TIME] == null ? Infinity : hit[TIME]),
    level: (hit) => ruleLevel[hit[RULE]],
    rule: (hit) => R[hit[RULE]].title.toLowerCase(),
    host: (hit) => text(hit[HOST]).toLowerCase(),
    user: (hit) => text(hit[USER]).toLowerCase(),
    process: (hit) => text(hit[PROC]).toLowerCase(),
    techniques: (hit) => R[hit[RULE]].techniques.map((t) => t.id).join(","),
  };

  function sortShown() {
    const key = SORT_KEYS[sort.key];
    const keys = new Map(shown.map((index) => [index, key(H[index])]));
    shown.sort((a, b) => {
      const ka = keys.get(a), kb = keys.get(b);
      return (ka < kb ? -1 : ka > kb ? 1 : a - b) * sort.dir || a - b;
    });
    for (const head of $("table-head").children) {
      head.classList.toggle("sorted-asc", head.dataset.key === sort.key && sort.dir === 1);
      head.classList.toggle("sorted-desc", head.dataset.key === sort.key && sort.dir === -1);
    }
  }

  // Only the rows in view exist in the page: that is what keeps 100,000 hits fast.
  function renderRows() {
    const scroller = $("scroller");
    $("spacer").style.height = shown.length * ROW_HEIGHT + "px";
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - 10);
    const last = Math.min(shown.length, first + Math.ceil(scroller.clientHeight / ROW_HEIGHT) + 20);
    const rows = $("rows");
    rows.style.transform = "translateY(" + first * ROW_HEIGHT + "px)";
    rows.replaceChildren();
    for (let position = first; position < last; position++) {
      const index = shown[position];
      const hit = H[index], rule = R[hit[RULE]];
      rows.append(
        el("div", { class: "row" + (index === selected ? " selected" : ""), "data-hit": index, onclick: () => showDetail(index) },
          el("div", { class: "mono" }, time(hit[TIME])),
          el("div", {}, el("span", { class: "badge b-" + rule.level }, rule.level)),
          el("div", { title: rule.title }, rule.title),
          el("div", { title: text(hit[HOST]) }, text(hit[HOST])),
          el("div", { title: text(hit[USER]) }, text(hit[USER])),
          el("div", { class: "mono", title: text(hit[PROC]) }, text(hit[PROC])),
          el("div", {}, rule.techniques.map((t) => t.id).join(", "))));
    }
  }

  function showDetail(index) {
    selected = index;
    const hit = H[index], rule = R[hit[RULE]];
    const fields = el("table", {});
    for (let i = 0; i < hit[FIELDS].length; i += 2) {
      fields.append(el("tr", {}, el("td", {}, text(hit[FIELDS][i])), el("td", { class: "mono" }, text(hit[FIELDS][i + 1]))));
    }
    const where = text(hit[SRC]) + (hit[REC] != null ? " · record " + hit[REC] : "");
    $("detail-body").replaceChildren(
      el("h2", {}, rule.title),
      el("div", {}, el("span", { class: "badge b-" + rule.level }, rule.level), " ", rule.kind, " · ", time(hit[TIME]) || "no time"),
      el("div", { class: "mono", style: "color: var(--muted); margin-top: 4px" }, where),
      el("h3", {}, "ATT&CK"),
      el("div", {}, ...rule.techniques.map((t) => el("span", { class: "tech" }, t.id + (t.name ? " " + t.name : ""))), rule.tactics.length ? el("div", {}, "Tactics: " + rule.tactics.join(", ")) : null),
      el("h3", {}, "Known false positives"),
      el("div", { class: "fp" }, rule.false_positives.length ? rule.false_positives.join(" · ") : "None given by the rule."),
      rule.description ? el("h3", {}, "Rule") : null,
      rule.description ? el("div", {}, rule.description) : null,
      el("div", { class: "mono", style: "color: var(--muted); margin-top: 4px" }, (rule.id || "") + "  " + rule.file),
      el("h3", {}, hit[FIELDS].length ? "Event" : "No fields"),
      fields);
    $("detail").hidden = false;
    renderRows();
  }

  function closeDetail() {
    $("detail").hidden = true;
    selected = -1;
    renderRows();
  }

  function renderChips() {
    const chips = [];
    const chip = (label, clear) => chips.push(el("span", { class: "chip", title: "Remove this filter", onclick: () => { clear(); applyFilters(); } }, label));
    if (filter.level) chip("level: " + filter.level, () => (filter.level = "", $("level-filter").value = ""));
    if (filter.rule >= 0) chip("rule: " + R[filter.rule].title, () => (filter.rule = -1));
    if (filter.technique) chip("technique: " + filter.technique, () => (filter.technique = ""));
    if (filter.host >= 0) chip("host: " + text(filter.host), () => (filter.host = -1));
    if (filter.user >= 0) chip("user: " + text(filter.user), () => (filter.user = -1));
    if (filter.process >= 0) chip("process: " + text(filter.process), () => (filter.process = -1));
    if (filter.from != null) chip("time: " + time(filter.from) + " – " + time(filter.to), () => (filter.from = filter.to = null));
    $("chips").replaceChildren(...chips);
  }

  function focusTable(change) {
    change();
    applyFilters();
    $("hits-panel").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function renderHeader() {
    const f = D.facts;
    $("title").textContent = D.title;
    const facts = [fmt(f.events) + " events", fmt(f.files) + " files", fmt(f.rules) + " rules", "generated " + f.generated];
    if (f.skipped) facts.push("skipped: " + f.skipped);
    $("facts").textContent = facts.join(" · ");
    $("attack-version").textContent = D.attack_version;
  }

  function renderLevels() {
    const counts = Object.fromEntries(LEVELS.map((level) => [level, 0]));
    for (const hit of H) counts[R[hit[RULE]].level] = (counts[R[hit[RULE]].level] || 0) + 1;
    const cards = [el("div", { class: "card total", id: "total-hits", "data-count": H.length }, el("div", { class: "n" }, fmt(H.length)), el("div", { class: "l" }, "hits"))];
    for (const level of LEVELS) {
      cards.push(el("div", { class: "card lv-" + level, "data-level": level, "data-count": counts[level], title: "Show only " + level,
        onclick: () => focusTable(() => { filter.level = filter.level === level ? "" : level; $("level-filter").value = filter.level; }) },
        el("div", { class: "n" }, fmt(counts[level])), el("div", { class: "l" }, level)));
      $("level-filter").append(el("option", { value: level }, level));
    }
    $("levels").replaceChildren(...cards);
  }

  function renderTimeline() {
    // A zero FILETIME reads as 1601: such times would squash the chart, so it starts in 1990.
    const PLAUSIBLE = Date.UTC(1990, 0, 1);
    const timed = H.filter((hit) => hit[TIME] != null && hit[TIME] >= PLAUSIBLE);
    const box = $("timeline");
    if (!timed.length) {
      box.append(el("div", { class: "empty" }, "No hit has a time."));
      return;
    }
    let min = Infinity, max = -Infinity;
    for (const hit of timed) { min = Math.min(min, hit[TIME]); max = Math.max(max, hit[TIME]); }
    const BUCKETS = 60, span = Math.max(1, max - min + 1), width = span / BUCKETS;
    const counts = Array.from({ length: BUCKETS }, () => LEVELS.map(() => 0));
    for (const hit of timed) {
      const bucket = Math.min(BUCKETS - 1, Math.floor((hit[TIME] - min) / width));
      counts[bucket][ruleLevel[hit[RULE]]] += 1;
    }
    const tallest = Math.max(...counts.map((levels) => levels.reduce((a, b) => a + b, 0)));
    const W = Math.max(400, box.clientWidth), Hgt = 200, top = 8, bottom = 24, left = 44;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + (Hgt + bottom));
    svg.setAttribute("width", W);
    svg.setAttribute("height", Hgt + bottom);
    const node = (tag, attrs, content) => {
      const n = document.createElementNS(ns, tag);
      for (const [key, value] of Object.entries(attrs)) n.setAttribute(key, value);
      if (content != null) n.textContent = content;
      svg.append(n);
      return n;
    };
    const y = (count) => Hgt - ((Hgt - top) * count) / tallest;
    for (const fraction of [0, 0.5, 1]) {
      const value = Math.round(tallest * fraction);
      node("line", { x1: left, x2: W, y1: y(value), y2: y(value), stroke: "#e2e8f0" });
      node("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" }, fmt(value));
    }
    const barWidth = (W - left) / BUCKETS;
    counts.forEach((levels, bucket) => {
      let base = 0;
      const from = min + bucket * width, to = min + (bucket + 1) * width;
      // Most severe at the bottom, drawn first.
      levels.forEach((count, rank) => {
        if (!count) return;
        const bar = node("rect", { class: "bar", x: left + bucket * barWidth + 1, width: Math.max(1, barWidth - 2), y: y(base + count), height: y(base) - y(base + count),
          fill: "var(--" + LEVELS[rank] + ")", "data-count": count, "data-level": LEVELS[rank] });
        const tip = document.createElementNS(ns, "title");
        tip.textContent = fmt(count) + " " + LEVELS[rank] + " · " + time(from) + " – " + time(to);
        bar.append(tip);
        bar.addEventListener("click", () => focusTable(() => { filter.from = from; filter.to = bucket === BUCKETS - 1 ? max + 1 : to; }));
        base += count;
      });
    });
    for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
      const at = min + span * fraction;
      node("text", { x: left + (W - left) * fraction, y: Hgt + 16, "text-anchor": fraction === 0 ? "start" : fraction === 1 ? "end" : "middle", class: "axis" }, time(at).slice(0, 16));
    }
    box.append(svg);
    const legend = el("div", { class: "legend" }, ...LEVELS.map((level) => el("span", {}, el("i", { style: "background: var(--" + level + ")" }), level)));
    if (timed.length < H.length) legend.append(el("span", {}, fmt(H.length - timed.length) + " hits without a time (or before 1990) not shown"));
    box.append(legend);
  }

  function renderTops() {
    const top = (title, key, label, setFilter) => {
      const counts = new Map();
      for (const hit of H) {
        const value = key(hit);
        if (value >= 0) counts.set(value, (counts.get(value) || 0) + 1);
      }
      const items = [...counts].sort((a, b) => b[1] - a[1] || label(a[0]).localeCompare(label(b[0]))).slice(0, 8);
      const most = items.length ? items[0][1] : 1;
      return el("div", { class: "top", "data-top": title.toLowerCase() }, el("h3", {}, title),
        ...(items.length ? items.map(([value, count]) => el("div", { class: "top-item", title: label(value), "data-count": count, onclick: () => focusTable(() => setFilter(value)) },
          el("div", { class: "fill", style: "width:" + (100 * count) / most + "%" }), el("span", {}, label(value)), el("span", { class: "c" }, fmt(count))))
          : [el("div", { class: "empty" }, "none")]));
    };
    $("tops").replaceChildren(
      top("Rules", (hit) => hit[RULE], (rule) => R[rule].title, (rule) => (filter.rule = rule)),
      top("Hosts", (hit) => hit[HOST], text, (host) => (filter.host = host)),
      top("Users", (hit) => hit[USER], text, (user) => (filter.user = user)),
      top("Processes", (hit) => hit[PROC], (process) => text(process).split(/[\\/]/).slice(-2).join("\\"), (process) => (filter.process = process)));
  }

  function renderMatrix() {
    const most = Math.max(1, ...D.matrix.flatMap((tactic) => tactic.techniques.map((cell) => cell.hits)));
    const columns = D.matrix.filter((tactic) => tactic.techniques.length);
    if (!columns.length) {
      $("matrix").append(el("div", { class: "empty" }, "No hit carries an ATT&CK technique."));
      return;
    }
    const SHOWN = 12;
    const cellOf = (cell) => {
      const heat = Math.log(1 + cell.hits) / Math.log(1 + most);
      const style = "background: rgba(220, 38, 38, " + (0.08 + 0.8 * heat).toFixed(3) + ");" + (heat > 0.55 ? "color: #fff" : "");
      return el("div", { class: "cell", style, title: cell.id + " " + cell.name + ": " + fmt(cell.hits) + " hits", "data-technique": cell.id, "data-count": cell.hits,
        onclick: () => focusTable(() => (filter.technique = filter.technique === cell.id ? "" : cell.id)) },
        el("span", { class: "k" }, fmt(cell.hits)), el("b", {}, cell.id), cell.name);
    };
    // The busiest techniques of each tactic first; the rest one click away, so the matrix
    // stays a picture rather than a wall.
    $("matrix").replaceChildren(...columns.map((tactic) => {
      const cells = tactic.techniques.sort((a, b) => b.hits - a.hits || a.id.localeCompare(b.id)).map(cellOf);
      const column = el("div", { class: "tactic", "data-tactic": tactic.shortname },
        el("h3", {}, tactic.name, el("small", {}, tactic.techniques.length + " techniques")), ...cells);
      if (cells.length > SHOWN) {
        const hidden = cells.slice(SHOWN);
        for (const cell of hidden) cell.hidden = true;
        const more = el("button", { class: "more" }, "+ " + hidden.length + " more");
        more.addEventListener("click", () => { for (const cell of hidden) cell.hidden = !cell.hidden; more.textContent = hidden[0].hidden ? "+ " + hidden.length + " more" : "show fewer"; });
        column.append(more);
      }
      return column;
    }));
  }

  function renderTableHead() {
    const columns = [["time", "Time (UTC)"], ["level", "Level"], ["rule", "Rule"], ["host", "Host"], ["user", "User"], ["process", "Process"], ["techniques", "Techniques"]];
    $("table-head").replaceChildren(...columns.map(([key, label]) => el("div", { "data-key": key, title: "Sort by " + label.toLowerCase(),
      onclick: () => { sort.dir = sort.key === key ? -sort.dir : 1; sort.key = key; sortShown(); renderRows(); } }, label)));
  }

  renderHeader();
  renderLevels();
  renderTimeline();
  renderTops();
  renderMatrix();
  renderTableHead();
  let typing = 0;
  $("search").addEventListener("input", (event) => {
    clearTimeout(typing);
    typing = setTimeout(() => { filter.text = event.target.value; applyFilters(); }, 150);
  });
  $("level-filter").addEventListener("change", (event) => { filter.level = event.target.value; applyFilters(); });
  $("scroller").addEventListener("scroll", () => requestAnimationFrame(renderRows));
  $("detail-close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeDetail(); });
  applyFilters();
  document.body.dataset.ready = "true";
})();
