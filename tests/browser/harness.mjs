// What the browser checks share: named checks that print as they go, and a headless
// Chromium page that records every console error, page error and network request.
import { chromium } from "playwright-core";

const failures = [];

// Records and prints one check.
export function check(ok, what) {
  if (!ok) failures.push(what);
  console.log((ok ? "ok    " : "FAIL  ") + what);
}

// Debian's Chromium, headless, offline; `errors` collects what a page must never do.
export async function openBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const errors = [];
  page.on("console", (message) => { if (message.type() === "error") errors.push("console: " + message.text()); });
  page.on("pageerror", (error) => errors.push("page error: " + error.message));
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith("file:") && !url.startsWith("data:")) errors.push("network request: " + url);
  });
  return { browser, page, errors };
}

// Checks that the page made no error and no request, closes the browser, and exits
// non-zero when any check failed.
export async function finish(browser, errors) {
  for (const error of errors) console.log("FAIL  " + error);
  check(errors.length === 0, "no console error, page error or network request");
  await browser.close();
  if (failures.length) {
    console.log(`${failures.length} checks failed`);
    process.exit(1);
  }
}
