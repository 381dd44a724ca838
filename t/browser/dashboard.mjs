// SPDX-License-Identifier: Apache-2.0
// The dashboard in a real browser: Debian's headless Chromium driven by
// playwright-core (no browser download). t/browser/10_dashboard.t sets up the
// data and runs this; scripts/demo-like setups can run it by hand too:
//
//   SR_BASE_URL=http://127.0.0.1:8080 SR_DASH_USER=demo SR_DASH_PASSWORD=... \
//   SR_SCREENSHOT_DIR=t/screenshots node t/browser/dashboard.mjs
//
// Environment:
//   SR_BASE_URL         http://host:port of httpd (required)
//   SR_DASH_PREFIX      where the dashboard is mounted (default /app)
//   SR_DASH_USER, SR_DASH_PASSWORD   HTTP Basic credentials
//   SR_SCREENSHOT_DIR   where the full-page PNGs go (default t/screenshots)
//   SR_SCREENSHOT_TAG   file name prefix (default dashboard)
//   SR_EXPECT           JSON of what the page must show (ids, names, figures);
//                       without it only the checks that need no knowledge of
//                       the data run (the list must still have a filled slot
//                       opening with a booking)
//   SR_CANCEL           1: finally cancel the appointment SR_EXPECT.cancelAppointment
//                       through its Cancel button and check the result
//   SR_CHROMIUM         the browser (default /usr/bin/chromium)
//
// Prints one line per check, "ok - ..." or "not ok - ...", and exits 1 if any
// failed. Any console error, page error, failed request (the stylesheet
// included) or HTTP status >= 400 fails the run.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = (process.env.SR_BASE_URL || '').replace(/\/+$/, '');
const prefix = (process.env.SR_DASH_PREFIX || '/app').replace(/\/+$/, '');
const user = process.env.SR_DASH_USER || '';
const password = process.env.SR_DASH_PASSWORD || '';
const shotDir = process.env.SR_SCREENSHOT_DIR || 't/screenshots';
const tag = process.env.SR_SCREENSHOT_TAG || 'dashboard';
const expect = process.env.SR_EXPECT ? JSON.parse(process.env.SR_EXPECT) : null;
const executablePath = process.env.SR_CHROMIUM || '/usr/bin/chromium';

let failures = 0;
let checks = 0;
function check(cond, desc, detail) {
  checks++;
  if (cond) {
    console.log(`ok - ${desc}`);
  } else {
    failures++;
    console.log(`not ok - ${desc}${detail !== undefined ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
  }
  return cond;
}
// JSON with object keys sorted, to compare structures.
function canonical(v) {
  return JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x));
}
function eq(got, want, desc) {
  return check(canonical(got) === canonical(want), desc, { got, want });
}

if (!base) {
  console.log('not ok - SR_BASE_URL is not set');
  process.exit(1);
}

// The whole run may not hang: stop after 120 s.
const watchdog = setTimeout(() => {
  console.log('not ok - the browser run took longer than 120 s');
  process.exit(1);
}, 120000);

mkdirSync(shotDir, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'sr-chromium-'));
const problems = [];
const favicon = [];
let context;

async function main() {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    httpCredentials: { username: user, password },
    viewport: { width: 1280, height: 900 },
    timeout: 30000,
  });
  context.setDefaultTimeout(15000);
  const page = context.pages()[0] || await context.newPage();

  // Anything going wrong anywhere on any page fails the run.
  // (The favicon is kept apart: Chromium asks for /favicon.ico at the server
  // root by itself because the pages declare no icon; see the check below.)
  const note = (url, what) => (/\/favicon\.ico$/.test(url || '') ? favicon : problems).push(what);
  page.on('console', (msg) => {
    if (msg.type() === 'error') note(msg.location()?.url, `console error: ${msg.text()} (${msg.location()?.url})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => note(req.url(), `request failed: ${req.url()} ${req.failure()?.errorText}`));
  const seen = new Map();
  page.on('response', (res) => {
    seen.set(res.url(), res.status());
    if (res.status() >= 400) note(res.url(), `HTTP ${res.status()} for ${res.url()}`);
  });

  const url = (path) => base + prefix + path;
  const go = async (path, desc) => {
    const res = await page.goto(url(path), { waitUntil: 'load' });
    eq(res && res.status(), 200, `${desc}: GET ${prefix}${path} answers 200`);
    return res;
  };
  const text = async (sel) => ((await page.locator(sel).first().textContent()) || '').replace(/\s+/g, ' ').trim();
  const bg = (sel) => page.locator(sel).first().evaluate((e) => getComputedStyle(e).backgroundColor);
  const shot = async (name) => {
    const path = join(shotDir, `${tag}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`# screenshot ${path}`);
  };
  // The page fits its viewport: no sideways scrolling.
  const fits = async (desc) => {
    const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    check(m.scroll <= m.width, `${desc}: no horizontal scrolling`, m);
  };

  // --- the list ---------------------------------------------------------------------------
  await go('/appointments', 'the list');
  eq(seen.get(base + prefix + '/assets/slotrecovery.css'), 200, 'the stylesheet loaded (200)');
  eq(await bg('header.bar'), 'rgb(29, 36, 48)', 'the stylesheet applies: the dark header bar');
  check(await page.locator('h2', { hasText: 'Upcoming appointments' }).isVisible(), '"Upcoming appointments" is shown');
  check(await page.locator('h2', { hasText: 'Slot Recovery' }).isVisible(), '"Slot Recovery" is shown');

  // Each badge is visible, reads its status and has its colour.
  const colours = { open: 'rgb(10, 125, 79)', filled: 'rgb(36, 87, 197)', expired: 'rgb(122, 127, 135)' };
  for (const status of expect ? ['open', 'filled', 'expired'] : ['filled']) {
    const badge = page.locator(`table.slots span.badge.badge-${status}`).first();
    check(await badge.isVisible(), `a "${status}" badge is visible in the slot-openings table`);
    eq(((await badge.textContent()) || '').trim(), status, `... it reads "${status}"`);
    eq(await badge.evaluate((e) => getComputedStyle(e).backgroundColor), colours[status], `... in its colour`);
    eq(await badge.evaluate((e) => getComputedStyle(e).color), 'rgb(255, 255, 255)', '... white text');
    const box = await badge.boundingBox();
    check(box && box.width > 20 && box.height > 10, '... with a real size', box);
  }
  if (expect) {
    eq(await text('span.shop'), expect.shopName, 'the shop name in the header');
    const figures = await page.locator('dl.figures > div').evaluateAll((divs) => Object.fromEntries(
      divs.map((d) => [d.querySelector('dt').textContent.trim(), d.querySelector('dd').textContent.trim()])));
    eq(figures, expect.figures, 'the figures');
    const rows = await page.locator('table.slots tbody tr').count();
    eq(rows, expect.slotCount, 'the number of slot openings listed');
  }
  await shot('appointments-desktop');

  // --- follow "View booking" ---------------------------------------------------------------------
  const viewBooking = page.locator('table.slots a', { hasText: 'View booking' }).first();
  const bookingHref = await viewBooking.getAttribute('href');
  check(/\/appointments\/\d+$/.test(bookingHref || ''), '"View booking" links to an appointment', bookingHref);
  await Promise.all([page.waitForURL(`**${bookingHref}`), viewBooking.click()]);
  check(page.url().endsWith(bookingHref), 'clicking "View booking" opens it', page.url());
  check(/^Recovered booking \d+/.test(await text('h1')), 'the booking page: "Recovered booking N"', await text('h1'));
  const fields = async () => page.locator('table.fields tr').evaluateAll((trs) => Object.fromEntries(
    trs.map((tr) => [tr.querySelector('th').textContent.trim(), tr.querySelector('td').textContent.replace(/\s+/g, ' ').trim()])));
  let f = await fields();
  check(/^\w+ \d\d \w+ \d{4} \d\d:\d\d–\d\d:\d\d$/.test(f.Time || ''), '... a time range', f.Time);
  check(/^Slot opening \d+$/.test(f['Recovered from'] || ''), '... "Recovered from" a slot opening', f['Recovered from']);
  check(/^\w+ \d+\.\d\d [A-Z]{3}$/.test(f.Payment || ''), '... payment status and amount', f.Payment);
  if (expect) {
    eq(page.url(), url(`/appointments/${expect.booking}`), '... the expected booking');
    eq(f.Customer, expect.bookingCustomer, '... the customer');
    eq(f.Payment, expect.payment, '... the payment');
    eq(f['Recovered from'], `Slot opening ${expect.filledSlot}`, '... from the filled slot opening');
  }
  eq(await bg('h1 span.badge'), 'rgb(36, 87, 197)', '... the status badge is styled');
  await shot('booking');

  // From the booking to its slot opening, then back to the list.
  const recoveredFrom = page.locator('table.fields a', { hasText: 'Slot opening' });
  const slotHref = await recoveredFrom.getAttribute('href');
  await Promise.all([page.waitForURL(`**${slotHref}`), recoveredFrom.click()]);
  check(/^Slot opening \d+ filled$/.test(await text('h1')), '"Recovered from" opens the slot opening', await text('h1'));
  await Promise.all([page.waitForURL(`**${prefix}/appointments`), page.locator('a', { hasText: 'All appointments' }).click()]);
  check(page.url().endsWith(`${prefix}/appointments`), '"← All appointments" goes back to the list', page.url());

  // --- follow "Details" of the filled slot opening ----------------------------------------------------
  const filledRow = page.locator('table.slots tbody tr', { has: page.locator('span.badge-filled') }).first();
  const details = filledRow.locator('a', { hasText: 'Details' });
  const detailsHref = await details.getAttribute('href');
  await Promise.all([page.waitForURL(`**${detailsHref}`), details.click()]);
  check(page.url().endsWith(detailsHref), 'clicking "Details" opens the slot opening', page.url());
  f = await fields();
  eq(f.Status, 'filled', '... status filled');
  check(/^#\d+ /.test(f['Cancelled appointment'] || ''), '... the cancelled source appointment', f['Cancelled appointment']);
  check(/^View booking \(.+\)$/.test(f['Recovered booking'] || ''), '... the recovered booking', f['Recovered booking']);
  const offers = await page.locator('table:not(.fields) tbody tr').evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent.trim())));
  check(offers.some((o) => o[2] === 'accepted'), '... the offers table has the accepted offer', offers);
  eq(await bg('table:not(.fields) span.badge-accepted'), 'rgb(36, 87, 197)', '... its badge is styled');
  if (expect) {
    eq(page.url(), url(`/slot-openings/${expect.filledSlot}`), '... the expected slot opening');
    eq(f['Cancelled appointment'], `#${expect.sourceAppointment} ${expect.sourceCustomer}`, '... its source');
    eq(f['Recovered booking'], `View booking (${expect.bookingCustomer})`, '... its booking');
    eq(offers.map((o) => [o[1], o[2]]), [[expect.bookingCustomer, 'accepted']], '... one offer, accepted');
  }
  await shot('slot-opening');

  if (expect) {
    // The expired one: its reason and no offers.
    await go(`/slot-openings/${expect.expiredSlot}`, 'the expired slot opening');
    f = await fields();
    eq(f['Why it expired'], 'no_eligible_customer', '... why it expired');
    check(await page.locator('p.empty', { hasText: 'No offers sent yet' }).isVisible(), '... "No offers sent yet"');
    eq(await bg('h1 span.badge-expired'), colours.expired, '... grey expired badge');

    // The filter form, submitted by the browser.
    await go('/appointments', 'the list again');
    await page.locator('select[name=status]').selectOption('filled');
    await Promise.all([page.waitForURL(/status=filled/), page.locator('form.filters button[type=submit]').click()]);
    check(/\?status=filled&from=&to=$/.test(page.url()), 'the filter form submits status=filled', page.url());
    eq(await page.locator('table.slots tbody tr').count(), 1, '... one filled slot opening listed');
    eq(await page.locator('select[name=status]').inputValue(), 'filled', '... the form keeps the filter');
    eq(await page.locator('a', { hasText: 'Export CSV' }).getAttribute('href'),
      `${prefix}/slot-openings.csv?status=filled&from=&to=`, '... and so does "Export CSV"');
  }

  // --- a phone -----------------------------------------------------------------------------------
  await page.setViewportSize({ width: 390, height: 844 });
  await go('/appointments', 'the list on a phone');
  await fits('the list at 390 px');
  const badgeBox = await page.locator('table.slots span.badge').first().boundingBox();
  check(badgeBox && badgeBox.x >= 0 && badgeBox.x + badgeBox.width <= 390, '... badges within the screen', badgeBox);
  const fontSize = await page.locator('body').evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  check(fontSize >= 14, '... body text at least 14 px', fontSize);
  await shot('appointments-phone');
  await go(detailsHref.slice(prefix.length), 'the slot opening on a phone');
  await fits('the slot opening at 390 px');
  await shot('slot-opening-phone');
  await go(bookingHref.slice(prefix.length), 'the booking on a phone');
  await fits('the booking at 390 px');
  await shot('booking-phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  // --- cancelling through the Cancel button -------------------------------------------------------------
  if (expect && process.env.SR_CANCEL === '1') {
    await go('/appointments', 'the list before cancelling');
    const before = await page.locator('table.slots tbody tr').count();
    const form = page.locator(`form[action="${prefix}/appointments/${expect.cancelAppointment}/cancel"]`);
    eq(await form.count(), 1, `a Cancel form for appointment ${expect.cancelAppointment}`);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/appointments/${expect.cancelAppointment}/cancel`)),
      form.locator('button', { hasText: 'Cancel' }).click(),
    ]);
    eq(res.status(), 303, 'the Cancel button posts the form: 303');
    await page.waitForURL(`**${prefix}/appointments`);
    await page.waitForLoadState('load');
    eq(await form.count(), 0, '... back on the list, the appointment has no Cancel form any more');
    eq(await page.locator('table.slots tbody tr').count(), before + 1, '... and its slot opening is listed');
    await shot('after-cancel');
  }
}

let crashed = null;
try {
  await main();
} catch (err) {
  crashed = err;
}
if (crashed) check(false, 'the browser run completed', String(crashed && crashed.stack || crashed));
if (context) await context.close().catch(() => {});
rmSync(profile, { recursive: true, force: true });
eq(problems, [], 'no console error, page error, failed request or HTTP status >= 400');
eq([...new Set(favicon)], [], 'no error from the icon the browser looks for (/favicon.ico: the pages declare none)');
clearTimeout(watchdog);
console.log(`# ${checks - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
