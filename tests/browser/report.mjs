// Opens a Harrier HTML report in headless Chromium and checks it against the hunt's JSON lines.
//
//   node report.mjs REPORT.html HUNT.jsonl SCREENSHOT.png [--at-least N]
//
// Fails on any console error, page error or network request; checks that the level totals,
// the ATT&CK matrix, the timeline and the table show the counts the JSON lines give, that
// filtering, sorting and the detail panel work, and saves a screenshot.
import { check, finish, openBrowser } from "./harness.mjs";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [reportPath, jsonlPath, screenshotPath, ...rest] = process.argv.slice(2);
const atLeast = rest[0] === "--at-least" ? Number(rest[1]) : 1;

// What the report must show, computed from the JSON lines (the stable output contract).
const lines = readFileSync(jsonlPath, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
const expected = { total: lines.length, levels: {}, techniques: {}, timed: 0, rules: {} };
for (const line of lines) {
  expected.levels[line.level] = (expected.levels[line.level] || 0) + 1;
  expected.rules[line.rule_id] = (expected.rules[line.rule_id] || 0) + 1;
  line.techniques.forEach((id, i) => {
    if (line.technique_names[i] != null) expected.techniques[id] = (expected.techniques[id] || 0) + 1;
  });
  const rowTime = line.type === "row" && [line.row._time, line.row.lastTime].some((time) => typeof time === "number" || /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$|^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/.test(time));
  // The timeline leaves out times before 1990 (a zero FILETIME reads as 1601).
  if ((line.timestamp != null && line.timestamp >= "1990") || rowTime) expected.timed += 1;
}
check(expected.total >= atLeast, `the hunt gave ${expected.total} hits (at least ${atLeast})`);

const { browser, page, errors } = await openBrowser();

const started = Date.now();
await page.goto(pathToFileURL(reportPath).href);
await page.waitForSelector("body[data-ready=true]", { timeout: 60000 });
console.log(`report ready in ${Date.now() - started} ms`);

const count = (selector) => page.$eval(selector, (node) => Number(node.dataset.count));
check((await count("#total-hits")) === expected.total, `total hits ${expected.total}`);
for (const level of ["critical", "high", "medium", "low", "informational"]) {
  const shown = await count(`.card[data-level=${level}]`);
  check(shown === (expected.levels[level] || 0), `${level}: ${shown} shown, ${expected.levels[level] || 0} expected`);
}

const cells = await page.$$eval(".cell", (nodes) => nodes.map((node) => [node.dataset.technique, Number(node.dataset.count)]));
const matrix = Object.fromEntries(cells);
const wrong = Object.entries(expected.techniques).filter(([id, hits]) => matrix[id] !== hits);
const extra = Object.keys(matrix).filter((id) => !(id in expected.techniques));
check(cells.length > 0 && wrong.length === 0 && extra.length === 0,
  `matrix: ${Object.keys(matrix).length} techniques with the expected hit counts` + (wrong.length ? `; wrong: ${JSON.stringify(wrong.slice(0, 5))} shown ${JSON.stringify(wrong.slice(0, 5).map(([id]) => matrix[id]))}` : "") + (extra.length ? `; extra: ${extra.slice(0, 5)}` : ""));

const bars = await page.$$eval("#timeline rect.bar", (nodes) => nodes.map((node) => Number(node.dataset.count)));
const inTimeline = bars.reduce((a, b) => a + b, 0);
check(bars.length > 0 && inTimeline === expected.timed, `timeline: ${bars.length} bars, ${inTimeline} hits, ${expected.timed} timed hits expected`);

check((await count("#shown")) === expected.total, `table lists ${expected.total} hits`);
check((await page.$$("#rows .row")).length > 0, "table rows render");

// Filter by level through its card, then by text (a rule id), then clear.
if (expected.levels.high) {
  await page.click(".card[data-level=high]");
  check((await count("#shown")) === expected.levels.high, `level card filters to ${expected.levels.high} high hits`);
  await page.click(".card[data-level=high]");
}
const [busiest, busiestHits] = Object.entries(expected.rules).filter(([id]) => id !== "null").sort((a, b) => b[1] - a[1])[0];
const started_filter = Date.now();
await page.fill("#search", busiest);
await page.waitForFunction((n) => Number(document.querySelector("#shown").dataset.count) === n, busiestHits, { timeout: 20000 }).catch(() => {});
console.log(`text filter over ${expected.total} hits in ${Date.now() - started_filter} ms (including a 150 ms typing pause)`);
check((await count("#shown")) === busiestHits, `search for rule ${busiest} shows its ${busiestHits} hits`);
await page.fill("#search", "");
await page.waitForFunction((n) => Number(document.querySelector("#shown").dataset.count) === n, expected.total);
// A value search: hits whose rule, file or any event value contains the text.
const value = "lsass";
const valueHits = lines.filter((line) => [line.rule_title, line.rule_id, line.source_file, ...line.techniques, ...Object.values(line.event || line.row || line.group || {})]
  .some((field) => String(field).toLowerCase().includes(value))).length;
const aggregates = lines.some((line) => line.type);
const startedValue = Date.now();
await page.fill("#search", value);
await page.waitForFunction((n) => Number(document.querySelector("#shown").dataset.count) !== n, expected.total, { timeout: 20000 }).catch(() => {});
await page.waitForTimeout(50);
const valueShown = await count("#shown");
console.log(`value filter over ${expected.total} hits in ${Date.now() - startedValue} ms`);
// Correlation and row hits carry other fields in the report than in the JSON lines: exact only without them.
check(aggregates ? valueShown >= valueHits : valueShown === valueHits, `search for "${value}" shows ${valueShown} hits (${valueHits} expected${aggregates ? " at least" : ""})`);
await page.fill("#search", "");
await page.waitForFunction((n) => Number(document.querySelector("#shown").dataset.count) === n, expected.total);

// Sort by level: the most severe level present comes first.
await page.click("#table-head [data-key=level]");
const firstLevel = await page.$eval("#rows .row .badge", (node) => node.textContent);
const severest = ["critical", "high", "medium", "low", "informational"].find((level) => expected.levels[level]);
check(firstLevel === severest, `sorted by level, the first row is ${firstLevel} (${severest} expected)`);

// Scroll far down: rows there render too (the table draws only what is in view).
await page.$eval("#scroller", (node) => { node.scrollTop = node.scrollHeight; });
await page.waitForTimeout(200);
check((await page.$$("#rows .row")).length > 0, "rows render at the end of the table");

// Open the detail of a hit.
await page.$eval("#scroller", (node) => { node.scrollTop = 0; });
await page.waitForTimeout(100);
await page.click("#rows .row");
const detail = await page.$eval("#detail", (node) => (node.hidden ? "" : node.textContent));
check(detail.includes("Known false positives") && detail.includes("ATT&CK"), "a row opens its detail with ATT&CK and false positives");
await page.keyboard.press("Escape");

await page.$eval("#scroller", (node) => { node.scrollTop = 0; });
await page.evaluate(() => window.scrollTo(0, 0));
await page.screenshot({ path: screenshotPath });
await page.click("#rows .row");
await page.screenshot({ path: screenshotPath.replace(/\.png$/, "-detail.png") });
console.log(`screenshots: ${screenshotPath}`);

await finish(browser, errors);
