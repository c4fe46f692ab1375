"use strict";
// The catalog page: renders the inline data by route (the URL's fragment) and filters.
// Every value from the data goes in as text, never as markup.
// The data is gzip-compressed JSON in base64 (see the crate's site.rs): inflated natively.
async function unpack(id) {
  const text = document.getElementById(id).textContent;
  const bytes = Uint8Array.fromBase64 ? Uint8Array.fromBase64(text) : Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

unpack("catalog-data").then((data) => {
  const rules = data.rules;
  // Each rule's conversions, by rule index: inflated once, when first needed or once the
  // page has first shown.
  let conversions = null;
  const allConversions = () => conversions || (conversions = unpack("catalog-conversions"));
  const view = document.getElementById("view");
  const LEVELS = ["critical", "high", "medium", "low", "informational"];

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value == null || value === false) continue;
      if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Technique ids -> { id, name, rules, note, parent, tactics }; rule -> tactics it is filed under.
  const techniques = new Map();
  const ruleTactics = rules.map((rule) => new Set((rule.tactics || []).map((tactic) => tactic.replace(/_/g, "-"))));
  const file = (entry, tactic, parent) => {
    const known = techniques.get(entry.id) || { ...entry, parent, tactics: [] };
    if (tactic) known.tactics.push(tactic);
    techniques.set(entry.id, known);
    for (const index of entry.rules) if (tactic) ruleTactics[index].add(tactic.shortname);
  };
  for (const tactic of data.tactics) {
    for (const technique of tactic.techniques) {
      file(technique, tactic, null);
      for (const sub of technique.subtechniques) file(sub, tactic, technique.id);
    }
  }
  for (const entry of data.outside_matrix.concat(data.unknown_techniques)) file(entry, null, null);

  // What a search looks in: title, description, id, fields, false positives (and an SPL search).
  const haystacks = rules.map((rule) => [
    rule.title, rule.description, rule.id, rule.anchor, (rule.fields || []).join(" "),
    (rule.false_positives || []).join(" "), rule.logic && rule.logic.language === "spl" ? rule.logic.search : "",
  ].join("\n").toLowerCase());

  const filters = { source: "", level: "", tactic: "", status: "" };
  function passes(index) {
    const rule = rules[index];
    return (!filters.source || rule.source === filters.source)
      && (!filters.level || rule.level === filters.level)
      && (!filters.status || rule.status === filters.status)
      && (!filters.tactic || ruleTactics[index].has(filters.tactic));
  }

  function setupFilters() {
    const options = (id, values) => {
      const select = document.getElementById(id);
      for (const [value, label] of values) select.append(el("option", { value }, label));
      select.addEventListener("change", () => {
        filters[id.replace("filter-", "")] = select.value;
        render();
      });
    };
    const distinct = (key) => [...new Set(rules.map((rule) => rule[key]).filter(Boolean))].sort();
    options("filter-source", distinct("source").map((source) => [source, source]));
    options("filter-level", LEVELS.filter((level) => rules.some((rule) => rule.level === level)).map((level) => [level, level]));
    options("filter-tactic", data.tactics.map((tactic) => [tactic.shortname, tactic.name]));
    options("filter-status", distinct("status").map((status) => [status, status]));
    const search = document.getElementById("search");
    search.addEventListener("input", () => {
      const query = search.value.trim();
      history.replaceState(null, "", query ? "#search/" + encodeURIComponent(query) : "#");
      render();
    });
  }

  function facts() {
    const counts = data.counts;
    const outcomes = Object.entries(counts.outcomes).map(([name, count]) => `${count} ${name}`).join(", ");
    const parts = [
      `${counts.documents} rule documents (${counts.sigma} Sigma, ${counts.splunk} Splunk ESCU): ${outcomes}`,
      `${counts.techniques} techniques`, `ATT&CK v${data.attack_version}`, `Harrier ${data.harrier_version}`,
    ];
    if (data.logs.length) parts.push(`evidence from ${data.logs.join(", ")}`);
    if (data.benign.length) parts.push(`noise from ${data.benign.join(", ")}`);
    document.getElementById("facts").textContent = parts.join(" · ");
  }

  function tree() {
    const nav = document.getElementById("tree");
    const techniqueLink = (entry) => el("a", { href: "#" + entry.id, class: "technique", "data-technique": entry.id },
      el("span", { class: "tid" }, entry.id), " ", entry.name || "", el("span", { class: "count" }, entry.rules.length));
    for (const tactic of data.tactics) {
      if (!tactic.techniques.length) continue;
      const items = tactic.techniques.map((technique) => el("li", {}, techniqueLink(technique),
        technique.subtechniques.length ? el("ul", {}, technique.subtechniques.map((sub) => el("li", {}, techniqueLink(sub)))) : null));
      nav.append(el("details", { class: "tactic", "data-tactic": tactic.shortname },
        el("summary", {}, `${tactic.name} `, el("span", { class: "tid" }, tactic.id)), el("ul", {}, items)));
    }
    const apart = data.outside_matrix.concat(data.unknown_techniques);
    if (apart.length) {
      nav.append(el("details", { class: "tactic" }, el("summary", {}, "Outside the matrix"),
        el("ul", {}, apart.map((entry) => el("li", {}, techniqueLink(entry))))));
    }
  }

  const badge = (kind, text) => text ? el("span", { class: `badge ${kind}`, "data-kind": kind }, text) : null;
  const ruleLink = (index) => el("a", { href: "#rule/" + encodeURIComponent(rules[index].anchor), class: "rule-link" }, rules[index].title);
  const techniqueChips = (ids) => (ids || []).map((id) => el("a", { href: "#" + id.toUpperCase(), class: "chip" }, id.toUpperCase()));

  function logicBlock(logic) {
    if (!logic) return el("p", { class: "muted" }, "No detection logic could be read from the file.");
    if (logic.language === "sigma") return el("pre", { class: "logic" }, logic.text);
    const search = el("pre", { class: "logic" }, logic.search);
    const parts = [search];
    if (logic.macros.length) parts.push(el("div", { class: "macros" }, "Macros: ", logic.macros.map((name) => el("code", {}, name))));
    if (logic.expanded != null) {
      const button = el("button", { class: "expand", type: "button" }, "Expand macros");
      button.addEventListener("click", () => {
        const expanded = button.dataset.expanded === "true";
        search.textContent = expanded ? logic.search : logic.expanded;
        button.dataset.expanded = String(!expanded);
        button.textContent = expanded ? "Expand macros" : "Show as written";
      });
      parts.push(button);
    }
    return el("div", {}, parts);
  }

  function evidenceLine(label, evidence) {
    if (!evidence) return null;
    const parts = [`${evidence.hits} hits on ${evidence.hosts} hosts`];
    if (evidence.first) parts.push(`${evidence.first} to ${evidence.last}`);
    if (evidence.top_process) parts.push(`most from ${evidence.top_process[0]} (${evidence.top_process[1]})`);
    return el("div", { class: "evidence" }, el("b", {}, label + ": "), parts.join(" · "));
  }

  function ruleCard(index, full) {
    const rule = rules[index];
    const list = (items) => items && items.length ? el("ul", {}, items.map((item) => el("li", {}, item))) : el("span", { class: "muted" }, "none given");
    return el("article", { class: "rule", "data-rule": rule.anchor, "data-source": rule.source },
      el("h3", {}, full ? rule.title : ruleLink(index)),
      el("div", { class: "badges" }, badge("source", rule.source), badge("level " + (rule.level || ""), rule.level),
        badge("status", rule.status), badge("type", rule.type), rule.outcome !== "loaded" ? badge("outcome", rule.outcome) : null,
        techniqueChips(rule.techniques)),
      rule.description ? el("p", { class: "description" }, rule.description) : null,
      el("h4", {}, "Detection logic"), logicBlock(rule.logic),
      el("h4", {}, "Known false positives"), list(rule.false_positives),
      evidenceLine("On the logs", rule.evidence), evidenceLine("On benign logs", rule.noise),
      el("dl", { class: "meta" },
        rule.id ? [el("dt", {}, "id"), el("dd", {}, rule.id)] : null,
        rule.author ? [el("dt", {}, "author"), el("dd", {}, rule.author)] : null,
        rule.logsource ? [el("dt", {}, "logsource"), el("dd", {}, rule.logsource)] : null,
        el("dt", {}, "file"), el("dd", {}, `${rule.file}:${rule.line}`)),
      rule.references.length ? el("details", { class: "references" }, el("summary", {}, `References (${rule.references.length})`), list(rule.references)) : null,
      full ? rulePageExtras(rule, index) : null);
  }

  function rulePageExtras(rule, index) {
    const outcome = el("section", { class: "outcome", "data-outcome": rule.outcome }, el("h4", {}, "Loading"),
      el("p", {}, rule.outcome, rule.reason ? `: ${rule.reason}` : ""),
      rule.warnings.length ? el("ul", { class: "warnings" }, rule.warnings.map((warning) => el("li", {}, warning))) : null);
    const section = el("section", { class: "conversions" }, el("h4", {}, "Conversions"));
    allConversions().then((all) => {
      section.append(...all[index].map((conversion) => el("div", { class: "conversion", "data-target": conversion.target },
        el("h5", {}, conversion.target, conversion.index ? el("span", { class: "muted" }, ` index ${conversion.index}`) : null),
        conversion.query != null ? el("pre", {}, conversion.query) : el("p", { class: "refusal" }, "Not converted: ", conversion.refusal))));
      section.dataset.loaded = "true";
    });
    return [outcome, section];
  }

  function ruleList(indexes, empty) {
    const shown = indexes.filter(passes);
    const note = shown.length === indexes.length ? `${indexes.length} rules` : `${shown.length} of ${indexes.length} rules (filtered)`;
    if (!shown.length) return [el("p", { class: "muted count-note" }, note), el("p", { class: "muted" }, empty || "No rule passes the filters.")];
    return [el("p", { class: "muted count-note" }, note), el("div", { class: "rules" }, lazily(shown, (index) => ruleCard(index, false)))];
  }

  // Long lists render in pages as they scroll into view.
  function lazily(items, render, page = 40) {
    const box = el("div", {});
    let next = 0;
    const more = () => {
      const end = Math.min(items.length, next + page);
      for (; next < end; next++) box.append(render(items[next]));
      if (next < items.length) {
        const button = el("button", { class: "more", type: "button" }, `Show more (${items.length - next} left)`);
        button.addEventListener("click", () => { button.remove(); more(); });
        box.append(button);
        new IntersectionObserver((entries, observer) => {
          if (entries.some((entry) => entry.isIntersecting) && button.isConnected) { observer.disconnect(); button.click(); }
        }).observe(button);
      }
    };
    more();
    return box;
  }

  function home() {
    const cards = data.tactics.filter((tactic) => tactic.techniques.length).map((tactic) => {
      const ids = tactic.techniques.flatMap((technique) => [technique, ...technique.subtechniques]);
      const covered = new Set(ids.flatMap((entry) => entry.rules));
      return el("a", { class: "tactic-card", href: "#" + tactic.techniques[0].id, "data-tactic": tactic.shortname },
        el("b", {}, tactic.name), el("span", { class: "muted" }, ` ${tactic.id}`),
        el("div", {}, `${ids.filter((entry) => entry.rules.length).length} techniques · ${covered.size} rules`));
    });
    const apart = data.outside_matrix.concat(data.unknown_techniques);
    return [el("h2", {}, "By technique"),
      el("p", { class: "muted" }, "Pick a tactic's technique on the left, search above, or open a tactic:"),
      el("div", { class: "tactic-cards" }, cards),
      apart.length ? el("p", { class: "warning" }, `${apart.length} technique ids are outside the ATT&CK matrix (deprecated, revoked or unknown): see the end of the list on the left.`) : null];
  }

  function techniquePage(id) {
    const entry = techniques.get(id);
    if (!entry) return [el("h2", {}, id), el("p", { class: "muted" }, "No rule of this catalog names this technique.")];
    const parent = entry.parent && techniques.get(entry.parent);
    const subs = [...techniques.values()].filter((other) => other.parent === id);
    return [el("h2", { "data-technique": id }, `${id} ${entry.name || ""}`),
      entry.note ? el("p", { class: "warning" }, entry.note) : null,
      el("p", { class: "muted" }, entry.tactics.length ? "Tactics: " + entry.tactics.map((tactic) => `${tactic.name} (${tactic.id})`).join(", ") : ""),
      parent ? el("p", {}, "Sub-technique of ", el("a", { href: "#" + parent.id }, `${parent.id} ${parent.name}`)) : null,
      subs.length ? el("p", {}, "Sub-techniques: ", subs.map((sub) => el("a", { href: "#" + sub.id, class: "chip" }, `${sub.id} ${sub.name} (${sub.rules.length})`))) : null,
      ruleList(entry.rules)];
  }

  function falsePositivePage(key) {
    const groups = key ? data.false_positives.filter((group) => group.key === key) : data.false_positives;
    const visible = groups.map((group) => ({ group, shown: group.rules.filter(passes) })).filter((item) => item.shown.length);
    const entry = ({ group, shown }) => {
      const noisy = shown.filter((index) => rules[index].noise && rules[index].noise.hits > 0);
      const seen = shown.filter((index) => rules[index].evidence && rules[index].evidence.hits > 0);
      return el("div", { class: "fp", "data-fp": group.key },
        el("h3", {}, el("a", { href: "#fp/" + encodeURIComponent(group.key) }, group.text), el("span", { class: "count" }, shown.length)),
        el("div", {}, techniqueChips(group.techniques)),
        seen.length ? el("p", { class: "evidence" }, `${seen.length} of these rules hit on the logs`) : null,
        noisy.length ? el("p", { class: "evidence" }, `${noisy.length} of these rules hit on benign logs: ${noisy.reduce((sum, index) => sum + rules[index].noise.hits, 0)} hits`) : null,
        el("ul", {}, shown.map((index) => el("li", {}, ruleLink(index), " ", badge("source", rules[index].source)))));
    };
    const unknown = data.false_positives_unknown.filter(passes);
    return [el("h2", {}, key ? "Known false positive" : "By known false positive"),
      el("p", { class: "muted" }, `${visible.length} known false positives (case, spacing and final dots normalized), most shared first.`),
      lazily(visible, entry, 100),
      key ? null : el("details", { class: "fp-unknown" }, el("summary", {}, `${unknown.length} rules give no known false positive (unknown, none or empty)`),
        lazily(unknown, (index) => el("div", {}, ruleLink(index)), 200))];
  }

  function failedPage() {
    const failed = rules.map((rule, index) => index).filter((index) => rules[index].outcome === "failed");
    return [el("h2", {}, "Did not load"), el("p", { class: "muted" }, `${failed.length} rule documents did not load; each with its reason.`),
      lazily(failed.filter(passes), (index) => el("div", { class: "failed", "data-rule": rules[index].anchor },
        ruleLink(index), " ", badge("source", rules[index].source), el("div", { class: "reason" }, `${rules[index].file}:${rules[index].line}: ${rules[index].reason || ""}`)), 100)];
  }

  function searchPage(query) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const found = rules.map((rule, index) => index).filter((index) => words.every((word) => haystacks[index].includes(word)));
    return [el("h2", {}, `Search: ${query}`), ruleList(found, "No rule matches.")];
  }

  function rulePage(anchor) {
    const index = rules.findIndex((rule) => rule.anchor === anchor);
    if (index < 0) return [el("h2", {}, "No such rule"), el("p", {}, anchor)];
    return [ruleCard(index, true)];
  }

  function route() {
    const hash = decodeURIComponent(location.hash.slice(1));
    if (hash.startsWith("rule/")) return ["rule", () => rulePage(hash.slice(5))];
    if (hash.startsWith("search/")) return ["search", () => searchPage(hash.slice(7))];
    if (hash === "fp" || hash.startsWith("fp/")) return ["fp", () => falsePositivePage(hash.slice(3))];
    if (hash === "none") return ["none", () => [el("h2", {}, "No technique"), ruleList(data.no_technique)]];
    if (hash === "failed") return ["failed", failedPage];
    if (/^T\d{4}(\.\d{3})?$/i.test(hash)) return ["technique", () => techniquePage(hash.toUpperCase())];
    return ["techniques", home];
  }

  function render() {
    const [name, page] = route();
    document.body.dataset.view = name;
    for (const tab of document.querySelectorAll(".tabs a")) tab.classList.toggle("active", tab.dataset.view === name);
    for (const link of document.querySelectorAll(".tree a.current")) link.classList.remove("current");
    if (name === "technique") {
      const link = document.querySelector(`.tree a[data-technique="${location.hash.slice(1).toUpperCase()}"]`);
      if (link) {
        link.classList.add("current");
        link.closest("details").open = true;
      }
    }
    view.replaceChildren(...page().flat().filter(Boolean));
    window.scrollTo(0, 0);
  }

  setupFilters();
  facts();
  tree();
  const initial = decodeURIComponent(location.hash.slice(1));
  if (initial.startsWith("search/")) document.getElementById("search").value = initial.slice(7);
  window.addEventListener("hashchange", render);
  render();
  document.body.dataset.ready = "true";
  document.body.dataset.readyMs = String(Math.round(performance.now()));
  allConversions();
});
