// ccgw agent desk: a small agent page on the JS API the gateway serves (/agentgateway/resource-js),
// called exactly as vendor agent bars call it: OnlineAgent.login({agentid, $entity, $callback}),
// the event poll AgentEventDispatcher.getAgentEvent, VoiceCall.* for call control, and
// CallData.queryAllCallInfoByAgentWorkNoEx for the agent's calls. The GUID lives where the JS API
// keeps it (the page-global cookiestring). No libraries, no build step.
'use strict';

(function () {
  var STATES = { 2: 'signed out', 3: 'busy', 4: 'idle', 5: 'wrap-up', 7: 'in a call', 8: 'rest', 9: 'rest after call' };
  // Call-data queries are rate-limited per agent (the vendor's overload control: 5 per 2 s).
  var CALLS_SPACING_MS = 500;
  var agent = null;
  var polling = false;
  var details = {}; // call id -> {caller, called, state}
  var refreshTimer = null;
  var lastCallsQuery = 0;

  function $(id) { return document.getElementById(id); }

  function message(text) { $('message').textContent = text; }

  // One JS API call, asynchronous: resolves with the vendor's answer (or {retcode:'http-<status>'}).
  function api(fn, params) {
    return new Promise(function (resolve) {
      params.agentid = agent;
      params.$callback = function (status, xhr, entity) {
        if (status !== 200 || !entity || typeof entity !== 'object')
          resolve({ retcode: 'http-' + status, message: String(entity || '') });
        else
          resolve(entity);
      };
      fn(params);
    });
  }

  function act(name, fn, params) {
    return api(fn, params || {}).then(function (r) {
      message(name + ': ' + (r.retcode === '0' ? 'ok' : r.retcode + ' ' + (r.message || '')));
      scheduleRefresh();
      return r;
    });
  }

  function logEvent(ev) {
    var li = document.createElement('li');
    var content = ev.content === null || ev.content === undefined ? '' : ' ' + JSON.stringify(ev.content);
    li.textContent = new Date().toLocaleTimeString() + ' ' + ev.eventType + content;
    li.dataset.type = ev.eventType;
    var list = $('events');
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 50) list.removeChild(list.lastChild);
  }

  function remember(id, fields) {
    if (!id) return;
    var d = details[id] = details[id] || { caller: '', called: '', state: '' };
    for (var k in fields) if (fields[k] !== undefined && fields[k] !== '') d[k] = fields[k];
  }

  function onEvent(ev) {
    logEvent(ev);
    var c = ev.content;
    switch (ev.eventType) {
      case 'AgentEvent_Ringing':
      case 'AgentEvent_Auto_Answer':
        remember(c.callid, { caller: c.caller, called: c.called, state: 'ringing' });
        break;
      case 'AgentEvent_Customer_Alerting':
        remember(c.callid, { state: 'alerting' });
        break;
      case 'AgentEvent_Talking':
        remember(c.callid, { caller: c.caller, called: c.called, state: 'talking' });
        break;
      case 'AgentEvent_Hold':
        remember(c, { state: 'held' });
        break;
      case 'AgentEvent_Call_Release':
        delete details[c];
        break;
      case 'AgentOther_ShutdownService':
        signedOut('signed out by the gateway');
        return;
    }
    scheduleRefresh();
  }

  function poll() {
    if (!agent) { polling = false; return; }
    polling = true;
    api(AgentEventDispatcher.getAgentEvent, {}).then(function (r) {
      if (r.retcode === '0') {
        if (r.event) onEvent(r.event);
        poll();
      } else if (r.retcode === '100-006') {
        signedOut('not signed in (' + r.retcode + ')');
      } else {
        setTimeout(poll, 1000);
      }
    });
  }

  function scheduleRefresh() {
    if (refreshTimer || !agent) return;
    var wait = Math.max(50, lastCallsQuery + CALLS_SPACING_MS - Date.now());
    refreshTimer = setTimeout(refresh, wait);
  }

  function refresh() {
    refreshTimer = null;
    if (!agent) return;
    lastCallsQuery = Date.now();
    api(OnlineAgent.getAgentStatus, {}).then(function (r) {
      if (r.retcode === '0') showState(r.result.agentState);
    });
    api(CallData.queryAllCallInfoByAgentWorkNoEx, { workno: agent }).then(function (r) {
      if (r.retcode === '0') showCalls(r.result || []);
      else if (r.retcode === '000-007') scheduleRefresh(); // overloaded: try again shortly
    });
  }

  function showState(code) {
    var s = $('agent-state');
    s.dataset.code = String(code);
    s.textContent = STATES[code] || ('state ' + code);
  }

  function showCalls(ids) {
    var body = $('calls').tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    ids.forEach(function (id) {
      var d = details[id] || { caller: '', called: '', state: '' };
      var tr = document.createElement('tr');
      tr.dataset.call = id;
      tr.dataset.state = d.state;
      [['id', id], ['caller', d.caller], ['called', d.called], ['call-state state-' + d.state, d.state]].forEach(function (c) {
        var td = document.createElement('td');
        td.className = c[0];
        td.textContent = c[1];
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    for (var k in details) if (ids.indexOf(k) < 0) delete details[k];
    $('no-calls').hidden = ids.length > 0;
    $('calls').dataset.count = String(ids.length);
  }

  function heldCall() {
    for (var k in details) if (details[k].state === 'held') return k;
    return undefined;
  }

  function signedOut(why) {
    agent = null;
    details = {};
    showCalls([]);
    showState(2);
    $('desk-panel').hidden = true;
    $('signin-panel').hidden = false;
    message(why);
  }

  function signIn(e) {
    e.preventDefault();
    var id = Number($('workno').value);
    var phone = $('phone').value || '7' + id;
    var entity = { password: $('password').value, phonenum: phone, status: '4', autoanswer: 'false',
      releasephone: 'true', agenttype: '4' };
    agent = id;
    var fn = $('force').checked ? OnlineAgent.forceLogin : OnlineAgent.login;
    api(fn, { $entity: entity }).then(function (r) {
      if (r.retcode !== '0') {
        agent = null;
        message('sign-in: ' + r.retcode + ' ' + (r.message || ''));
        return;
      }
      $('who').textContent = String(id);
      $('signin-panel').hidden = true;
      $('desk-panel').hidden = false;
      document.body.dataset.agent = String(id);
      message('signed in');
      if (!polling) poll();
      scheduleRefresh();
    });
  }

  function target() { return $('target').value.trim(); }

  function start() {
    if (typeof REST !== 'object' || !REST.apiURL) {
      message('the JS API (/agentgateway/resource-js) did not load');
      return;
    }
    $('signin-form').addEventListener('submit', signIn);
    $('idle').onclick = function () { act('idle', OnlineAgent.sayFree); };
    $('busy').onclick = function () { act('busy', OnlineAgent.sayBusy); };
    $('answer').onclick = function () { act('answer', VoiceCall.answer); };
    $('hold').onclick = function () { act('hold', VoiceCall.hold); };
    $('unhold').onclick = function () {
      var held = heldCall();
      act('unhold', VoiceCall.getHold, held ? { callid: held } : {});
    };
    $('release').onclick = function () { act('release', VoiceCall.release); };
    $('consult').onclick = function () {
      act('consult', VoiceCall.innerHelp, { $entity: { dstaddress: target(), devicetype: 2, mode: 1 } });
    };
    $('transfer').onclick = function () {
      act('transfer', VoiceCall.transfer, { $entity: { devicetype: 2, address: target(), mode: 0 } });
    };
    $('signout').onclick = function () {
      act('sign-out', OnlineAgent.logout).then(function (r) { if (r.retcode === '0') signedOut('signed out'); });
    };
    var wanted = new URLSearchParams(location.search).get('agent');
    if (wanted) $('workno').value = wanted;
    document.body.dataset.ready = 'true';
  }

  start();
})();
