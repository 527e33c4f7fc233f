// An agent page's life, driven only through the JS API that ccgw serves (GET /agentgateway/resource-js):
// sign-in → poll → inbound call → answer → hold + consult → allcallinfoEx → sign-out.
// Each agent runs the served script in a context of its own, as each agent's page would.
//
// Environment: CCGW_BASE (https://127.0.0.1:port), CCGW_ADMIN (http://127.0.0.1:port), CCGW_TOKEN
// (operator API), CCGW_API_URL_FORM ("slash": REST.apiURL ends in '/', the vendor's default, so
// every request has '//' after /resource; "bare": no trailing slash), CCGW_AGENTS ("101,102").
// TLS is verified against the gateway's certificate (NODE_EXTRA_CA_CERTS).
'use strict';

const vm = require('vm');
const assert = require('assert');
const { XMLHttpRequest } = require('xmlhttprequest');

const base = process.env.CCGW_BASE;
const admin = process.env.CCGW_ADMIN;
const token = process.env.CCGW_TOKEN;
const form = process.env.CCGW_API_URL_FORM || 'slash';
const [idA, idB] = (process.env.CCGW_AGENTS || '101,102').split(',').map(Number);

function syncRequest(method, url, headers, body) {
  const x = new XMLHttpRequest();
  x.open(method, url, false);
  for (const [k, v] of Object.entries(headers || {})) x.setRequestHeader(k, v);
  x.send(body === undefined ? null : body);
  return x;
}

// The script, as a page's <script src="https://gw:8043/agentgateway/resource-js"> loads it.
const served = syncRequest('GET', base + '/agentgateway/resource-js');
assert.strictEqual(served.status, 200, 'resource-js: ' + served.status + ' ' + served.responseText);
assert.match(served.getResponseHeader('content-type'), /javascript/);
const script = served.responseText;

function page(name) {
  const ctx = { XMLHttpRequest, console, Date, JSON, Object, Promise, setTimeout };
  vm.createContext(ctx);
  vm.runInContext(script, ctx, { filename: 'resource-js (' + name + ')' });
  ctx.REST.apiURL = base + (form === 'slash' ? '/agentgateway/resource/' : '/agentgateway/resource');
  ctx.REST.antiBrowserCache = form === 'slash';
  return ctx;
}

const A = page('agent ' + idA);
const B = page('agent ' + idB);

function ok(answer, what) {
  assert.ok(answer && typeof answer === 'object', what + ': no JSON answer: ' + JSON.stringify(answer));
  assert.strictEqual(answer.retcode, '0', what + ': ' + JSON.stringify(answer));
  return answer;
}

function signIn(p, id) {
  const r = ok(p.OnlineAgent.login({
    agentid: id,
    $entity: { password: 'ccgw-demo', phonenum: '7' + id, status: '4', autoanswer: 'false', releasephone: 'false', agenttype: '4' },
  }), 'login ' + id);
  assert.strictEqual(r.result.workno, String(id));
  // The GUID came in Set-GUID and now lives in the page-global cookiestring.
  assert.match(String(vm.runInContext('cookiestring', p)), /^[0-9a-f-]{36}\.AgentGateway0$/);
}

// Polls until an event of `type`; returns it.
function pollUntil(p, id, type) {
  const seen = [];
  for (let i = 0; i < 40; i++) {
    const r = ok(p.AgentEventDispatcher.getAgentEvent({ agentid: id }), 'poll ' + id);
    if (r.event) {
      seen.push(r.event.eventType);
      if (r.event.eventType === type) return r.event;
    }
  }
  throw new Error('agent ' + id + ' never got ' + type + '; saw ' + seen.join(', '));
}

async function main() {
  signIn(A, idA);
  signIn(B, idB);
  pollUntil(A, idA, 'AgentState_Ready');
  pollUntil(B, idB, 'AgentState_Ready');

  // B busy, so the customer rings A.
  ok(B.OnlineAgent.sayBusy({ agentid: idB, reason: 201 }), 'sayBusy');
  const injected = syncRequest('POST', admin + '/admin/calls',
    { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    JSON.stringify({ caller: '13800000001', accessCode: '10086', callData: 'order=42' }));
  assert.strictEqual(injected.status, 201, injected.responseText);
  const customerCall = JSON.parse(injected.responseText).callId;

  const ringing = pollUntil(A, idA, 'AgentEvent_Ringing');
  assert.strictEqual(ringing.content.callid, customerCall);
  ok(A.VoiceCall.answer({ agentid: idA }), 'answer');
  pollUntil(A, idA, 'AgentEvent_Talking');

  // Asynchronous form: $callback gets (httpStatus, xhr, entity).
  const status = await new Promise((resolve) => A.OnlineAgent.getAgentStatus({
    agentid: idA,
    $callback: (code, xhr, entity) => resolve({ code, entity }),
  }));
  assert.strictEqual(status.code, 200);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(status.entity)),
    { message: '', retcode: '0', result: { agentState: 7, isWorking: false } });

  ok(A.VoiceCall.hold({ agentid: idA }), 'hold');
  const held = pollUntil(A, idA, 'AgentEvent_Hold');
  assert.strictEqual(held.content, customerCall);

  ok(B.OnlineAgent.sayFree({ agentid: idB }), 'sayFree');
  const help = ok(A.VoiceCall.innerHelp({
    agentid: idA, $entity: { dstaddress: String(idB), devicetype: 2, mode: 1 },
  }), 'innerHelp');
  const consultCall = help.result;
  assert.match(consultCall, /^\d+-\d+$/);
  pollUntil(B, idB, 'AgentEvent_Ringing');
  ok(B.VoiceCall.answer({ agentid: idB }), 'answer consult');
  pollUntil(B, idB, 'AgentEvent_Talking');

  // Any agent of the VDN asks which calls A is on: the held customer call and the consultation.
  const calls = ok(B.CallData.queryAllCallInfoByAgentWorkNoEx({ agentid: idB, workno: idA }), 'allcallinfoEx');
  assert.deepStrictEqual(JSON.parse(JSON.stringify(calls)),
    { message: '', retcode: '0', result: [customerCall, consultCall] });

  ok(B.VoiceCall.release({ agentid: idB }), 'release consult');
  ok(B.OnlineAgent.logout({ agentid: idB }), 'logout');
  ok(A.OnlineAgent.forceLogout({ agentid: idA }), 'forceLogout');
  // Signed out: the GUID no longer works.
  const after = A.OnlineAgent.getAgentStatus({ agentid: idA });
  assert.strictEqual(after.retcode, '100-006', JSON.stringify(after));
  console.log('jsapi scenario ok (' + form + ')');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
