// ccgw wallboard: draws /wallboard/snapshot, then follows /wallboard/events (server-sent events,
// one snapshot a second). Hand-written SVG, no libraries. The page's own numbers carry their raw
// value in data-value, and <body data-at> the time of the snapshot drawn (for tests and scripts).
'use strict';

(function () {
  var SVG = 'http://www.w3.org/2000/svg';
  var STATES = ['idle', 'talking', 'work', 'busy', 'rest'];
  var COLORS = { idle: '#3fb950', talking: '#58a6ff', work: '#d29922', busy: '#f85149', rest: '#a371f7' };
  var HISTORY = 120;
  var history = {}; // vdn -> [{at, waiting}]
  var last = null;
  var chosen = null;

  function $(id) { return document.getElementById(id); }

  function setValue(el, value, text) {
    el.dataset.value = String(value);
    el.textContent = text === undefined ? String(value) : text;
  }

  function duration(ms) {
    var s = Math.floor(ms / 1000);
    return s < 60 ? s + ' s' : Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }

  function percent(sl) { return sl === null ? '–' : sl.toFixed(1) + ' %'; }

  function el(name, attrs) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function drawAgentsBar(agents) {
    var svg = $('agents-bar');
    clear(svg);
    var total = agents.signedIn;
    var x = 0;
    STATES.forEach(function (s) {
      if (!total || !agents[s]) return;
      var w = 1000 * agents[s] / total;
      svg.appendChild(el('rect', { x: x, y: 0, width: w, height: 40, fill: COLORS[s] }));
      x += w;
    });
  }

  function drawGauge(sl) {
    var svg = $('sl-gauge');
    clear(svg);
    var arc = function (frac, color) {
      var a = Math.PI * (1 - frac);
      var x = 60 + 50 * Math.cos(a), y = 60 - 50 * Math.sin(a);
      return el('path', { d: 'M10 60 A50 50 0 0 1 ' + x.toFixed(2) + ' ' + y.toFixed(2), stroke: color,
        'stroke-width': 10, fill: 'none', 'stroke-linecap': 'round' });
    };
    svg.appendChild(arc(0.9999, '#2a3644'));
    if (sl !== null && sl > 0) svg.appendChild(arc(Math.min(sl, 100) / 100, sl >= 80 ? COLORS.idle : sl >= 60 ? COLORS.work : COLORS.busy));
  }

  function drawQueueChart(points) {
    var svg = $('queue-chart');
    clear(svg);
    var max = Math.max(4, Math.max.apply(null, points.map(function (p) { return p.waiting; })));
    for (var g = 1; g <= 3; g++) svg.appendChild(el('line', { x1: 0, x2: 600, y1: 160 * g / 4, y2: 160 * g / 4, stroke: '#223' }));
    if (points.length < 1) return;
    var step = 600 / (HISTORY - 1);
    var x0 = 600 - step * (points.length - 1);
    var d = points.map(function (p, i) {
      return (i ? 'L' : 'M') + (x0 + i * step).toFixed(1) + ' ' + (156 - 150 * p.waiting / max).toFixed(1);
    }).join(' ');
    svg.appendChild(el('path', { d: d + ' L600 160 L' + x0.toFixed(1) + ' 160 Z', fill: 'rgba(88,166,255,.15)', stroke: 'none' }));
    svg.appendChild(el('path', { d: d, fill: 'none', stroke: COLORS.talking, 'stroke-width': 2 }));
    var t = el('text', { x: 4, y: 14, fill: '#8b98a5', 'font-size': 12 });
    t.textContent = 'max ' + max;
    svg.appendChild(t);
  }

  function drawIntervalChart(intervals) {
    var svg = $('interval-chart');
    clear(svg);
    var max = Math.max(4, Math.max.apply(null, intervals.map(function (i) { return Math.max(i.answered, i.abandoned); })));
    var slot = 600 / Math.max(intervals.length, 1);
    var w = Math.max(2, slot / 2 - 4);
    intervals.forEach(function (iv, n) {
      var x = n * slot + 4;
      var ha = 140 * iv.answered / max, hb = 140 * iv.abandoned / max;
      var a = el('rect', { x: x, y: 144 - ha, width: w, height: ha, fill: COLORS.talking });
      a.appendChild(el('title', {})).textContent = 'answered ' + iv.answered;
      svg.appendChild(a);
      var b = el('rect', { x: x + w + 2, y: 144 - hb, width: w, height: hb, fill: COLORS.busy });
      b.appendChild(el('title', {})).textContent = 'abandoned ' + iv.abandoned;
      svg.appendChild(b);
      var d = new Date(iv.start);
      var label = el('text', { x: x, y: 157, fill: '#8b98a5', 'font-size': 10 });
      label.textContent = String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
      svg.appendChild(label);
    });
  }

  function cell(tr, cls, value, text) {
    var td = document.createElement('td');
    td.className = cls;
    setValue(td, value, text);
    tr.appendChild(td);
    return td;
  }

  function drawSkills(skills) {
    var body = $('skills').tBodies[0];
    clear(body);
    skills.forEach(function (s) {
      var tr = document.createElement('tr');
      tr.dataset.skill = String(s.skillId);
      var name = document.createElement('td');
      name.className = 'name';
      name.textContent = s.name + ' (' + s.skillId + ')';
      tr.appendChild(name);
      cell(tr, 'waiting', s.waiting);
      var lw = cell(tr, 'longest', s.longestWaitMs, s.waiting ? duration(s.longestWaitMs) : '–');
      if (s.longestWaitMs > last.serviceLevelMs) lw.classList.add('bad');
      STATES.forEach(function (st) { cell(tr, 'agents-' + st, s.agents[st]); });
      cell(tr, 'offered', s.window.offered);
      cell(tr, 'answered', s.window.answered);
      cell(tr, 'abandoned', s.window.abandoned);
      cell(tr, 'sl', s.window.serviceLevel === null ? '' : s.window.serviceLevel, percent(s.window.serviceLevel));
      body.appendChild(tr);
    });
  }

  function chooseVdn(snapshot) {
    var select = $('vdn');
    var ids = snapshot.vdns.map(function (v) { return String(v.vdn); });
    if (select.options.length !== ids.length) {
      clear(select);
      snapshot.vdns.forEach(function (v) {
        var o = document.createElement('option');
        o.value = String(v.vdn);
        o.textContent = v.vdn + (v.name ? ' – ' + v.name : '');
        select.appendChild(o);
      });
      var wanted = new URLSearchParams(location.search).get('vdn');
      chosen = ids.indexOf(wanted) >= 0 ? wanted : ids[0];
      select.value = chosen;
    }
    return snapshot.vdns.filter(function (v) { return String(v.vdn) === chosen; })[0];
  }

  function draw(snapshot) {
    last = snapshot;
    snapshot.vdns.forEach(function (v) {
      var h = history[v.vdn] = history[v.vdn] || [];
      if (!h.length || h[h.length - 1].at !== snapshot.at) h.push({ at: snapshot.at, waiting: v.waiting });
      while (h.length > HISTORY) h.shift();
    });
    var v = chooseVdn(snapshot);
    if (!v) return;
    setValue($('vdn-waiting'), v.waiting);
    setValue($('vdn-longest'), v.longestWaitMs, v.waiting ? duration(v.longestWaitMs) : '–');
    setValue($('vdn-sl'), v.window.serviceLevel === null ? '' : v.window.serviceLevel, percent(v.window.serviceLevel));
    setValue($('vdn-offered'), v.window.offered);
    setValue($('vdn-answered'), v.window.answered);
    setValue($('vdn-abandoned'), v.window.abandoned);
    setValue($('vdn-signed-in'), v.agents.signedIn);
    STATES.forEach(function (s) { setValue($('vdn-' + s), v.agents[s]); });
    $('sl-threshold').textContent = '(' + snapshot.serviceLevelMs / 1000 + ' s)';
    Array.prototype.forEach.call(document.querySelectorAll('.window-label'), function (e) {
      e.textContent = '(last ' + Math.round(snapshot.windowMs / 60000) + ' min)';
    });
    $('interval-label').textContent = Math.round(snapshot.intervalMs / 60000) + '-minute intervals';
    drawAgentsBar(v.agents);
    drawGauge(v.window.serviceLevel);
    drawSkills(v.skills);
    drawQueueChart(history[v.vdn]);
    drawIntervalChart(v.intervals);
    $('updated').textContent = 'updated ' + new Date(snapshot.at).toLocaleTimeString();
    document.body.dataset.at = String(snapshot.at);
  }

  function status(text, cls) {
    var s = $('status');
    s.textContent = text;
    s.className = 'status ' + (cls || '');
  }

  function start() {
    $('vdn').addEventListener('change', function (e) {
      chosen = e.target.value;
      if (last) draw(last);
    });
    fetch('/wallboard/snapshot', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(draw)
      .catch(function (e) { status('error: ' + e.message, 'down'); });
    var es = new EventSource('/wallboard/events');
    es.addEventListener('open', function () { status('live', 'live'); });
    es.addEventListener('snapshot', function (e) {
      status('live', 'live');
      draw(JSON.parse(e.data));
    });
    es.addEventListener('error', function () { status('reconnecting', 'down'); });
  }

  start();
})();
