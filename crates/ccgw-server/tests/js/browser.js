// The wallboard and the agent desk page in a real headless browser (Debian's chromium, driven by
// playwright-core): the wallboard's numbers must match the gateway's state during traffic, and the
// desk page must sign in, show a ringing call, answer, hold, unhold and release it, with
// allcallinfoEx reflected on the page. Screenshots go to CCGW_ARTIFACTS.
//
// Environment: CCGW_BASE (https://127.0.0.1:port, the agent interface), CCGW_ADMIN
// (http://127.0.0.1:port), CCGW_TOKEN (operator API), CCGW_WALLBOARD_TOKEN, CCGW_CA (the gateway's
// certificate, for this script's own requests), CHROMIUM_PATH (the browser), CCGW_ARTIFACTS.
// The gateway is configured by the Rust test (tests/it/browser.rs): callers 1390000xxxx hang up
// 1.5 s after they call (abandoned calls).
'use strict';

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const http = require('http');
const { chromium } = require('playwright-core');

const base = process.env.CCGW_BASE;
const admin = process.env.CCGW_ADMIN;
const token = process.env.CCGW_TOKEN;
const wallboardToken = process.env.CCGW_WALLBOARD_TOKEN;
const ca = fs.readFileSync(process.env.CCGW_CA);
const artifacts = process.env.CCGW_ARTIFACTS;
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function request(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(u, { method, headers: headers || {}, ca }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('timeout: ' + method + ' ' + url)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function adminGet(p) {
  const r = await request('GET', admin + p, { Authorization: 'Bearer ' + token });
  assert.strictEqual(r.status, 200, p + ': ' + r.body);
  return JSON.parse(r.body);
}

async function inject(caller) {
  const r = await request('POST', admin + '/admin/calls',
    { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    JSON.stringify({ caller, accessCode: '10086' }));
  assert.strictEqual(r.status, 201, r.body);
  return JSON.parse(r.body).callId;
}

// An agent over the interface (the Rust test's harness does the same): follows Set-GUID.
class Agent {
  constructor(id) { this.id = id; this.guid = null; }
  async call(method, suffix, body) {
    const headers = { 'Content-Type': 'application/json; charset=UTF-8' };
    if (this.guid) headers.Guid = this.guid;
    const r = await request(method, base + '/agentgateway/resource/' + suffix.replace('{id}', this.id), headers,
      body === undefined ? undefined : JSON.stringify(body));
    const set = r.headers['set-guid'];
    if (set) this.guid = set.substring(set.indexOf('=') + 1);
    assert.strictEqual(r.status, 200, method + ' ' + suffix + ': ' + r.status + ' ' + r.body);
    const answer = JSON.parse(r.body);
    assert.strictEqual(answer.retcode, '0', method + ' ' + suffix + ': ' + r.body);
    return answer;
  }
  async signIn() {
    await this.call('PUT', 'onlineagent/{id}',
      { password: 'ccgw-demo', phonenum: '7' + this.id, status: 4, autoanswer: false });
  }
  async pollUntil(type) {
    const seen = [];
    for (let i = 0; i < 40; i++) {
      const r = await this.call('GET', 'agentevent/{id}');
      if (r.event) {
        seen.push(r.event.eventType);
        if (r.event.eventType === type) return r.event;
      }
    }
    throw new Error('agent ' + this.id + ' never got ' + type + '; saw ' + seen.join(', '));
  }
}

async function until(what, fn, ms) {
  const deadline = Date.now() + (ms || 10000);
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last === true) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what + ': ' + (last && last.stack || last));
    await new Promise((r) => setTimeout(r, 150));
  }
}

// The numbers the wallboard page shows for VDN 1 (data-value of each, as drawn).
async function pageNumbers(page) {
  return page.evaluate(() => {
    const v = (id) => document.getElementById(id).dataset.value;
    const row = (skill, cls) => {
      const tr = document.querySelector('#skills tr[data-skill="' + skill + '"]');
      return tr ? tr.querySelector('td.' + cls).dataset.value : undefined;
    };
    return {
      at: document.body.dataset.at,
      signedIn: v('vdn-signed-in'), idle: v('vdn-idle'), busy: v('vdn-busy'), talking: v('vdn-talking'),
      work: v('vdn-work'), rest: v('vdn-rest'), waiting: v('vdn-waiting'), offered: v('vdn-offered'),
      answered: v('vdn-answered'), abandoned: v('vdn-abandoned'), sl: v('vdn-sl'),
      skill1Waiting: row(1, 'waiting'), skill1Offered: row(1, 'offered'), skill1Abandoned: row(1, 'abandoned'),
      skill1Idle: row(1, 'agents-idle'), skill1Talking: row(1, 'agents-talking'),
    };
  });
}

function expected(snapshot) {
  const v = snapshot.vdns.find((x) => x.vdn === 1);
  const s1 = v.skills.find((s) => s.skillId === 1);
  const str = (x) => (x === null ? '' : String(x));
  return {
    signedIn: str(v.agents.signedIn), idle: str(v.agents.idle), busy: str(v.agents.busy),
    talking: str(v.agents.talking), work: str(v.agents.work), rest: str(v.agents.rest), waiting: str(v.waiting),
    offered: str(v.window.offered), answered: str(v.window.answered), abandoned: str(v.window.abandoned),
    sl: str(v.window.serviceLevel), skill1Waiting: str(s1.waiting), skill1Offered: str(s1.window.offered),
    skill1Abandoned: str(s1.window.abandoned), skill1Idle: str(s1.agents.idle), skill1Talking: str(s1.agents.talking),
  };
}

async function snapshot() {
  const r = await request('GET', admin + '/wallboard/snapshot', { Authorization: 'Bearer ' + wallboardToken });
  assert.strictEqual(r.status, 200, r.body);
  return JSON.parse(r.body);
}

// The page shows what the gateway says now (the snapshot endpoint, and /admin/agents and
// /admin/calls for the counts they have), once its next live update has come.
async function wallboardMatches(page, want) {
  await until('the wallboard to show ' + JSON.stringify(want), async () => {
    const snap = await snapshot();
    const shown = await pageNumbers(page);
    const exp = expected(snap);
    for (const [k, v] of Object.entries(want)) {
      if (exp[k] !== String(v)) return 'snapshot ' + k + '=' + exp[k] + ', want ' + v;
    }
    for (const k of Object.keys(exp)) {
      if (shown[k] !== exp[k]) return 'page ' + k + '=' + shown[k] + ', snapshot ' + exp[k];
    }
    const agents = (await adminGet('/admin/agents')).agents.filter((a) => a.vdn === 1);
    if (String(agents.length) !== shown.signedIn) return '/admin/agents has ' + agents.length;
    const byState = (code) => String(agents.filter((a) => a.agentState === code).length);
    if (byState(4) !== shown.idle || byState(3) !== shown.busy || byState(7) !== shown.talking)
      return '/admin/agents states differ: ' + JSON.stringify(agents);
    const calls = (await adminGet('/admin/calls')).calls.filter((c) => c.vdn === 1);
    if (String(calls.filter((c) => c.queued).length) !== shown.waiting) return '/admin/calls queue differs';
    return true;
  }, 15000);
}

async function testWallboard(context) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The token once in the URL: the gateway answers with a cookie and a redirect without it.
  const resp = await page.goto(admin + '/wallboard?token=' + encodeURIComponent(wallboardToken));
  assert.strictEqual(resp.status(), 200);
  assert.strictEqual(new URL(page.url()).pathname + new URL(page.url()).search, '/wallboard');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'live');
  await wallboardMatches(page, { signedIn: 0, waiting: 0, offered: 0 });

  const a = new Agent(101);
  const b = new Agent(151);
  await a.signIn();
  await b.signIn();
  await a.pollUntil('AgentState_Ready');
  await b.pollUntil('AgentState_Ready');
  await b.call('POST', 'onlineagent/{id}/saybusy');
  await wallboardMatches(page, { signedIn: 2, idle: 1, busy: 1, talking: 0 });

  // A call rings 101, which answers; two more wait; one of those hangs up (abandoned).
  await inject('13800000001');
  await a.pollUntil('AgentEvent_Ringing');
  await a.call('PUT', 'voicecall/{id}/answer');
  const waiting = await inject('13800000002');
  await inject('13900000003');
  await wallboardMatches(page, { idle: 0, talking: 1, waiting: 2, offered: 3, answered: 1 });
  await wallboardMatches(page, { waiting: 1, offered: 3, answered: 1, abandoned: 1, sl: 50 });
  // The longest wait grows live, on the page as in the snapshot.
  const lw1 = Number(await page.getAttribute('#vdn-longest', 'data-value'));
  await until('the longest wait to grow on the page', async () =>
    Number(await page.getAttribute('#vdn-longest', 'data-value')) >= lw1 + 1000);
  // The charts are drawn: the agents bar has its segments, the interval chart its bars.
  assert.ok(await page.locator('#agents-bar rect').count() >= 2);
  assert.ok(await page.locator('#interval-chart rect').count() >= 2);
  assert.ok(await page.locator('#queue-chart path').count() >= 1);
  await page.screenshot({ path: path.join(artifacts, 'wallboard.png'), fullPage: true });
  assert.deepStrictEqual(errors, []);
  return { page, a, b, waiting };
}

async function testDesk(context, wb) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + '/agentgateway/desk?agent=102');
  await page.waitForSelector('body[data-ready="true"]');
  assert.strictEqual(await page.inputValue('#workno'), '102');
  await page.fill('#password', 'ccgw-demo');
  await page.click('#signin');
  await page.waitForSelector('#desk-panel:not([hidden])');
  // 102 comes in idle and the waiting customer rings it at once.
  const row = page.locator('#calls tr[data-call="' + wb.waiting + '"]');
  await row.waitFor();
  await until('the call to ring on the page', async () => (await row.getAttribute('data-state')) === 'ringing');
  assert.strictEqual(await row.locator('td.caller').textContent(), '13800000002');
  assert.strictEqual(await page.getAttribute('#agent-state', 'data-code'), '7');
  const party = async () => {
    const c = (await adminGet('/admin/calls')).calls.find((x) => x.callId === wb.waiting);
    const p = c && c.parties.find((x) => x.kind === 'agent' && x.id === '102');
    return p ? p.state : undefined;
  };
  assert.strictEqual(await party(), 'alerting');

  await page.click('#answer');
  await until('talking', async () => (await row.getAttribute('data-state')) === 'talking' && (await party()) === 'talking');
  await page.click('#hold');
  await until('held', async () => (await row.getAttribute('data-state')) === 'held' && (await party()) === 'held');
  await page.screenshot({ path: path.join(artifacts, 'desk.png'), fullPage: true });
  await page.click('#unhold');
  await until('talking again', async () => (await row.getAttribute('data-state')) === 'talking' && (await party()) === 'talking');
  // The wallboard saw it all: 102 in a call, nobody waiting.
  await wallboardMatches(wb.page, { signedIn: 3, talking: 2, waiting: 0, answered: 2 });

  // Consult agent 103 with the customer on hold: both calls on the page (allcallinfoEx).
  const c = new Agent(103);
  await c.signIn();
  await c.pollUntil('AgentState_Ready');
  await page.click('#hold');
  await until('held before the consultation', async () => (await party()) === 'held');
  await page.fill('#target', '103');
  await page.click('#consult');
  const ring = await c.pollUntil('AgentEvent_Ringing');
  const consult = ring.content.callid;
  await c.call('PUT', 'voicecall/{id}/answer');
  const consultRow = page.locator('#calls tr[data-call="' + consult + '"]');
  await until('the consultation on the page', async () => (await page.getAttribute('#calls', 'data-count')) === '2'
    && (await consultRow.getAttribute('data-state')) === 'talking' && (await row.getAttribute('data-state')) === 'held');
  const order = await page.$$eval('#calls tbody tr', (trs) => trs.map((t) => t.dataset.call));
  assert.deepStrictEqual(order, [wb.waiting, consult]);
  // 103 hangs up the consultation; 102 takes the customer back and transfers it to 103.
  await c.call('DELETE', 'voicecall/{id}/release');
  await until('the consultation to leave the page', async () => (await page.getAttribute('#calls', 'data-count')) === '1');
  await page.click('#unhold');
  await until('talking after the consultation', async () => (await party()) === 'talking');
  await page.click('#transfer');
  await c.pollUntil('AgentEvent_Ringing');
  await until('the transferred call to leave the page', async () => (await page.getAttribute('#calls', 'data-count')) === '0');
  await c.call('PUT', 'voicecall/{id}/answer');
  await until('103 to talk to the customer', async () => {
    const call = (await adminGet('/admin/calls')).calls.find((x) => x.callId === wb.waiting);
    return call && call.parties.some((p) => p.id === '103' && p.state === 'talking') && !call.parties.some((p) => p.id === '102');
  });

  // A new customer rings 102 (back to idle after the transfer); it answers and releases.
  const next = await inject('13800000004');
  const nextRow = page.locator('#calls tr[data-call="' + next + '"]');
  await nextRow.waitFor();
  await until('the new call to ring', async () => (await nextRow.getAttribute('data-state')) === 'ringing');
  await page.click('#answer');
  await until('the new call to be answered', async () => (await nextRow.getAttribute('data-state')) === 'talking');
  await page.click('#release');
  await until('the call to leave the page', async () => (await page.getAttribute('#calls', 'data-count')) === '0'
    && !(await adminGet('/admin/calls')).calls.some((x) => x.callId === next));
  assert.strictEqual(await page.isVisible('#no-calls'), true);
  const types = await page.$$eval('#events li', (lis) => lis.map((l) => l.dataset.type));
  for (const t of ['AgentEvent_Ringing', 'AgentEvent_Talking', 'AgentEvent_Hold', 'AgentEvent_Call_Release'])
    assert.ok(types.includes(t), t + ' not on the page: ' + types.join(', '));
  await page.click('#signout');
  await page.waitForSelector('#signin-panel:not([hidden])');
  const agents = (await adminGet('/admin/agents')).agents;
  assert.ok(!agents.some((x) => x.workNo === 102), 'still signed in: ' + JSON.stringify(agents));
  assert.deepStrictEqual(errors, []);
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ccgw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const wb = await testWallboard(context);
    await testDesk(context, wb);
    // Keep the wallboard's final state as the artifact.
    await wallboardMatches(wb.page, { offered: 4, answered: 3, abandoned: 1 });
    await wb.page.screenshot({ path: path.join(artifacts, 'wallboard.png'), fullPage: true });
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log('browser pages ok');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
