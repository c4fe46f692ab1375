// Opens a Harrier detection catalog in headless Chromium and checks it against the catalog's
// JSON (`harrier catalog --format json` of the same rules).
//
//   node catalog.mjs CATALOG/index.html CATALOG.json SCREENSHOT_PREFIX
//
// Fails on any console error, page error or network request; checks technique navigation,
// a search by a word of a rule's false positives, a deep link to a rule with its
// conversions, and the by-false-positive view; saves screenshots of each view.
import { check, finish, openBrowser } from "./harness.mjs";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [pagePath, jsonPath, screenshots] = process.argv.slice(2);
const catalog = JSON.parse(readFileSync(jsonPath, "utf8"));
const rules = catalog.rules;

const { browser, page, errors } = await openBrowser();
const url = pathToFileURL(pagePath).href;
const open = async (fragment) => {
  const started = Date.now();
  await page.goto("about:blank");
  await page.goto(url + fragment);
  await page.waitForSelector("body[data-ready=true]", { timeout: 60000 });
  return Date.now() - started;
};

// Opening: the figure the README quotes (the page's own script time beside it).
const openMs = await open("");
const scriptMs = await page.$eval("body", (body) => Number(body.dataset.readyMs));
console.log(`catalog of ${rules.length} rules shown ${scriptMs} ms after navigation start (${openMs} ms as the harness waits for it)`);
await page.screenshot({ path: `${screenshots}-home.png` });

// Technique navigation: the tree's link for T1071.003 shows its page with every rule filed there.
const technique = catalog.tactics.flatMap((tactic) => tactic.techniques.flatMap((t) => [t, ...t.subtechniques])).find((t) => t.id === "T1071.003");
check(technique != null, "the catalog files rules under T1071.003");
await page.click(`details[data-tactic=command-and-control] > summary`);
await page.click(`.tree a[data-technique="T1071.003"]`);
await page.waitForSelector(`h2[data-technique="T1071.003"]`);
const shownRules = await page.$$eval("#view article.rule", (nodes) => nodes.map((node) => node.dataset.rule));
const expectedRules = technique.rules.map((index) => rules[index].anchor);
check(JSON.stringify(shownRules.sort()) === JSON.stringify(expectedRules.sort()), `T1071.003 shows its ${expectedRules.length} rules (${shownRules.length} shown)`);
const mail = rules.find((rule) => rule.title === "Windows Mail Protocol In Non-Common Process Path");
const mailText = await page.$eval(`article[data-rule="${mail.anchor}"]`, (node) => node.innerText);
check(mailText.includes("splunk") && mailText.includes("T1071.003") && mailText.includes(mail.logic.search.slice(0, 60)), "the mail analytic's card shows source, technique and its search");
await page.click(`article[data-rule="${mail.anchor}"] button.expand`);
const expanded = await page.$eval(`article[data-rule="${mail.anchor}"] pre.logic`, (node) => node.textContent);
check(expanded === mail.logic.expanded, "its macros expand on demand");
await page.screenshot({ path: `${screenshots}-technique.png` });

// Search by a word of a false positive that no title, description or field of the rule
// carries: the rarest such word, so that the rule is among the first results shown.
const words = (text) => (text || "").toLowerCase().split(/[^a-z0-9]+/).filter((word) => word.length >= 8);
const haystacks = rules.map((rule) => [rule.title, rule.description, rule.id, rule.anchor, (rule.fields || []).join(" "),
  rule.false_positives.join(" "), rule.logic && rule.logic.language === "spl" ? rule.logic.search : ""].join("\n").toLowerCase());
let probe = null;
for (const [index, rule] of rules.entries()) {
  const elsewhere = new Set([...words(rule.title), ...words(rule.description), ...(rule.fields || []).flatMap(words)]);
  for (const word of rule.false_positives.flatMap(words).filter((candidate) => !elsewhere.has(candidate))) {
    const matches = haystacks.filter((haystack) => haystack.includes(word)).length;
    if (!probe || matches < probe.matches) probe = { index, word, matches };
  }
}
check(probe != null, "some rule has a false-positive word of its own");
await page.fill("#search", probe.word);
await page.waitForSelector(`body[data-view=search]`);
const found = await page.$$eval("#view article.rule", (nodes) => nodes.map((node) => node.dataset.rule));
const countNote = await page.$eval("#view .count-note", (node) => node.textContent);
check(countNote === `${probe.matches} rules`, `search "${probe.word}": ${countNote}, ${probe.matches} expected`);
check(found.includes(rules[probe.index].anchor), `the search finds "${rules[probe.index].title}" by a word of its false positives`);
await page.screenshot({ path: `${screenshots}-search.png` });

// Deep link to a rule: its page shows its conversions as the JSON has them.
const sigma = rules.find((rule) => rule.source === "sigma" && rule.outcome === "loaded" && rule.conversions.every((c) => c.query != null));
await open(`#rule/${encodeURIComponent(sigma.anchor)}`);
await page.waitForSelector(`article[data-rule="${sigma.anchor}"] .conversions[data-loaded=true]`);
const targets = await page.$$eval(`article[data-rule="${sigma.anchor}"] .conversion`, (nodes) => nodes.map((node) => [node.dataset.target, node.querySelector("pre") && node.querySelector("pre").textContent]));
check(targets.length === sigma.conversions.length && targets.every(([target, query], i) => target === sigma.conversions[i].target && query === sigma.conversions[i].query),
  `#rule/${sigma.anchor} shows its ${sigma.conversions.length} conversions`);
const logicText = await page.$eval(`article[data-rule="${sigma.anchor}"] pre.logic`, (node) => node.textContent);
check(logicText === sigma.logic.text, "and its detection block as written");
await page.screenshot({ path: `${screenshots}-rule.png`, fullPage: false });

// A technique deep link, and a failed rule with its reason.
await open("#T1059.001");
check((await page.$$("#view article.rule")).length > 0, "#T1059.001 opens its technique page");
const failed = rules.filter((rule) => rule.outcome === "failed");
await open("#failed");
const failedShown = await page.$$eval("#view .failed", (nodes) => nodes.length);
check(failedShown === Math.min(failed.length, 100), `#failed lists the ${failed.length} rules that did not load (${failedShown} in the first page)`);

// The by-false-positive view: most shared first, each with its rules.
await page.click(`.tabs a[data-view=fp]`);
await page.waitForSelector("body[data-view=fp]");
const first = await page.$eval("#view .fp", (node) => [node.dataset.fp, node.querySelectorAll("li").length]);
check(first[0] === catalog.false_positives[0].key && first[1] === catalog.false_positives[0].rules.length,
  `the most shared false positive comes first: "${catalog.false_positives[0].text}" (${first[1]} rules)`);
await page.screenshot({ path: `${screenshots}-fp.png` });

// Evidence, when the catalog was built with --logs.
const withEvidence = rules.find((rule) => rule.evidence && rule.evidence.hits > 0);
if (catalog.logs.length) {
  check(withEvidence != null, "with --logs some rule has evidence");
  await open(`#rule/${encodeURIComponent(withEvidence.anchor)}`);
  const evidence = await page.$eval(".evidence", (node) => node.textContent);
  check(evidence.includes(`${withEvidence.evidence.hits} hits on ${withEvidence.evidence.hosts} hosts`), `its page says: ${evidence}`);
}

await finish(browser, errors);
