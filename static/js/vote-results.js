/* Tavoli — votazioni shared by the console, the big screen, the ballot page and the results page.

   window.TavoliVotes:
   - tracker(live, opts): keeps the tavolo's rounds current: a JSON refresh (opts.stateUrl) on every
     join/resync of the live client, the numbered vote.* events, and the coalesced `vote.live`
     pushes (turnout, partial tally; the highest revision wins). opts.onUpdate(rounds, change).
   - chart(rows, opts): the accessible bar chart (visible labels and values; decorative bars whose
     width is a class vt-w-0..100, so no style attribute is ever needed: CSP style-src 'self').
   - turnoutText, rowsFromTally, number, percent: small formatters.

   On the results page of an open round (#live[data-live-page="vote-results"]) it also starts the
   live client: turnout and partial results follow the votes, and the page reloads when the round
   closes, to show the final results. All strings come translated from the page (data-i18n). */
(function () {
  'use strict';

  function format(template, params) {
    return String(template == null ? '' : template)
      .replace(/%\((\w+)\)s/g, function (_m, key) {
        return params && params[key] != null ? String(params[key]) : '';
      })
      .replace(/%%/g, '%');
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value == null || value === false) { return; }
      if (key === 'text') { node.textContent = value; }
      else if (key === 'class') { node.className = value; }
      else if (key.indexOf('on') === 0 && typeof value === 'function') { node.addEventListener(key.slice(2), value); }
      else if (value === true) { node.setAttribute(key, ''); }
      else { node.setAttribute(key, String(value)); }
    });
    (children || []).forEach(function (child) {
      if (child == null || child === false) { return; }
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  /* A count as it is, a mean with two decimals and the Italian comma. */
  function number(value) {
    if (value == null) { return '—'; }
    if (typeof value === 'number' && Math.round(value) !== value) { return value.toFixed(2).replace('.', ','); }
    return String(value);
  }

  function percentText(value) {
    var n = Number(value) || 0;
    return (Math.round(n * 10) / 10).toString().replace('.', ',');
  }

  function turnoutText(messages, t) {
    if (!t) { return '—'; }
    return format(messages.turnout, { voted: t.voted, eligible: t.eligible, percent: percentText(t.percent) });
  }

  /* Ranking rows (place, bisogno_id, title, score, tie) from a tally {ranking, scores}, as the server's
     service.ranking_rows: ties share a place (1, 2, 2, 4). */
  function rowsFromTally(items, tally) {
    if (!tally || !tally.ranking) { return []; }
    var titles = {};
    (items || []).forEach(function (i) { titles[String(i.bisogno_id)] = i.title; });
    var rows = [];
    var place = 1;
    tally.ranking.forEach(function (group) {
      group.forEach(function (name) {
        rows.push({ place: place, bisogno_id: parseInt(name, 10), title: titles[name] || name,
                    score: tally.scores ? tally.scores[name] : null, tie: group.length > 1 });
      });
      place += group.length;
    });
    return rows;
  }

  /* Width (0–100) of an item's bar: score on its 1–5 scale, Schulze wins over n−1, others over the top. */
  function percent(method, nItems, value, top) {
    if (value == null) { return 0; }
    var scale = method === 'score' ? 5 : (method === 'schulze' ? Math.max(1, nItems - 1) : Math.max(1, top || 0));
    return Math.max(0, Math.min(100, Math.round(100 * Number(value) / scale)));
  }

  function topOf(rows) {
    return rows.reduce(function (m, r) { return r.score != null && r.score > m ? r.score : m; }, 0);
  }

  /* The chart as a list; opts: method, nItems, valueLabel, tieText, limit. */
  function chartItems(rows, opts) {
    var top = topOf(rows);
    return rows.slice(0, opts.limit || rows.length).map(function (r) {
      var width = percent(opts.method, opts.nItems, r.score, top);
      return el('li', { class: 'vt-bar-row' + (r.tie ? ' vt-tie' : '') }, [
        el('span', { class: 'vt-bar-label' }, [
          el('span', { class: 'vt-place', text: r.place + 'º' }), ' ' + r.title,
          r.tie ? el('span', { class: 'vt-tie-note', text: ' (' + (opts.tieText || '') + ')' }) : null
        ]),
        el('span', { class: 'vt-track', 'aria-hidden': 'true' }, [el('span', { class: 'vt-bar vt-w-' + width })]),
        el('span', { class: 'vt-bar-value', text: (opts.valueLabel ? opts.valueLabel + ': ' : '') + number(r.score) })
      ]);
    });
  }

  function chart(rows, opts) {
    var captionId = (opts.id || 'grafico') + '-didascalia';
    return el('figure', { class: 'vt-chart', 'aria-labelledby': captionId }, [
      el('figcaption', { id: captionId, class: 'vt-chart-caption', text: opts.caption || '' }),
      el('ol', { class: 'vt-bars', 'data-chart': true }, chartItems(rows, opts))
    ]);
  }

  function fillChart(list, rows, opts) {
    list.textContent = '';
    chartItems(rows, opts).forEach(function (li) { list.appendChild(li); });
  }

  function barClass(t) {
    var width = t && t.eligible ? Math.round(100 * t.voted / t.eligible) : 0;
    return 'vt-bar vt-w-' + Math.max(0, Math.min(100, width));
  }

  // --- the rounds of a tavolo, kept current -----------------------------------------------------

  function Tracker(live, opts) {
    var init = opts.init || {};
    this.live = live;
    this.opts = opts;
    this.stateUrl = opts.stateUrl || init.state_url;
    this.indexUrl = opts.indexUrl || init.index_url || '';
    this.messages = opts.messages || init.messages || (live && live.messages && live.messages.vote) || {};
    this.rounds = {};
    this.fetching = false;
    var self = this;
    (init.votazioni || []).forEach(function (r) { self.rounds[r.id] = r; });
    if (live && live.socket) {
      live.socket.on('vote.live', function (payload) { self.applyLive(payload); });
    }
  }

  Tracker.prototype.list = function () {
    var self = this;
    return Object.keys(this.rounds).map(function (k) { return self.rounds[k]; })
      .sort(function (a, b) { return b.id - a.id; });
  };

  Tracker.prototype.emit = function (change) {
    if (this.opts.onUpdate) { this.opts.onUpdate(this.list(), change || {}, this); }
  };

  Tracker.prototype.urls = function (entry) {
    if (!entry.ballot_url && this.indexUrl) { entry.ballot_url = this.indexUrl + '/' + entry.id; }
    if (!entry.results_url && this.indexUrl) { entry.results_url = this.indexUrl + '/' + entry.id + '/risultati'; }
    return entry;
  };

  /* Called from the page's live onChange: a join/resync refreshes everything, vote.* events apply. */
  Tracker.prototype.onLiveChange = function (state, info) {
    if (info && info.reset) { this.refresh(); }
    if (info && info.event) { this.applyEvent(info.event); }
  };

  Tracker.prototype.refresh = function () {
    var self = this;
    if (!this.stateUrl || this.fetching || typeof window.fetch !== 'function') { return; }
    this.fetching = true;
    window.fetch(this.stateUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        self.fetching = false;
        if (!data || !data.votazioni) { return; }
        var fresh = {};
        data.votazioni.forEach(function (r) {
          var known = self.rounds[r.id];
          // A push newer than this answer (it left the server first) keeps its figures.
          if (known && known.status === r.status && (known.revision || 0) > (r.revision || 0)) {
            r.turnout = known.turnout;
            r.ranking = known.ranking;
            r.revision = known.revision;
          }
          fresh[r.id] = r;
        });
        // Rounds closed while this page was open stay visible (the big screen shows their results).
        Object.keys(self.rounds).forEach(function (id) {
          if (!fresh[id] && self.rounds[id].status === 'closed') { fresh[id] = self.rounds[id]; }
        });
        self.rounds = fresh;
        self.emit({ kind: 'refresh' });
      })
      .catch(function () { self.fetching = false; });
  };

  Tracker.prototype.applyEvent = function (event) {
    var p = event.payload || {};
    var kind = event.kind || '';
    if (kind.indexOf('vote.') !== 0) { return; }
    var id = p.round_id || p.id;
    var entry = this.rounds[id];
    switch (kind) {
      case 'vote.created':
      case 'vote.updated':
      case 'vote.opened':
        entry = Object.assign(entry || {}, {
          id: p.id, title: p.title, method: p.method, status: p.status, secret: p.secret,
          partial_results: p.partial_results, seduta_id: p.seduta_id, closes_at: p.closes_at,
          items: (p.items || []).map(function (i) { return { bisogno_id: i.bisogno_id, title: i.title }; }),
          final: false
        });
        if (p.turnout) { entry.turnout = p.turnout; }
        if (!entry.turnout) { entry.turnout = { voted: 0, eligible: 0, percent: 0 }; }
        if (!entry.ranking) { entry.ranking = []; }
        if (entry.revision == null) { entry.revision = 0; }
        break;
      case 'vote.closed':
        entry = Object.assign(entry || {}, {
          id: p.id, title: p.title, method: p.method, status: 'closed', secret: p.secret,
          seduta_id: p.seduta_id, final: true, turnout: p.turnout, ranking: p.ranking || [],
          revision: p.revision,
          items: (p.items || []).map(function (i) { return { bisogno_id: i.bisogno_id, title: i.title }; })
        });
        break;
      case 'vote.tie_break':
        if (!entry) { return; }
        entry.ranking = p.ranking || entry.ranking;
        break;
      default:
        return;
    }
    this.rounds[entry.id] = this.urls(entry);
    this.emit({ kind: kind, round: entry });
  };

  Tracker.prototype.applyLive = function (payload) {
    if (!payload || payload.tavolo_id !== (this.live && this.live.tavoloId)) { return; }
    var entry = this.rounds[payload.round_id];
    if (!entry) { this.refresh(); return; }
    if (entry.status === 'closed' && payload.status !== 'closed') { return; }
    if ((payload.revision || 0) < (entry.revision || 0)) { return; }
    entry.revision = payload.revision;
    entry.turnout = payload.turnout || entry.turnout;
    if (payload.tally) { entry.ranking = rowsFromTally(entry.items, payload.tally); }
    if (payload.status === 'closed' && entry.status !== 'closed') {
      entry.status = 'closed';
      this.refresh();  // the final ranking comes with the refresh (or the vote.closed event)
    }
    this.emit({ kind: 'vote.live', round: entry });
  };

  function tracker(live, opts) {
    var t = new Tracker(live, opts || {});
    Object.keys(t.rounds).forEach(function (id) { t.urls(t.rounds[id]); });
    return t;
  }

  window.TavoliVotes = {
    tracker: tracker,
    chart: chart,
    fillChart: fillChart,
    chartItems: chartItems,
    barClass: barClass,
    turnoutText: turnoutText,
    rowsFromTally: rowsFromTally,
    number: number,
    percent: percent,
    format: format,
    el: el
  };

  // --- the results page of an open round ---------------------------------------------------------

  function storedMode() {
    try { return window.localStorage.getItem('tavoli.mode') === 'presenza' ? 'presenza' : 'remoto'; }
    catch (e) { return 'remoto'; }
  }

  function resultsPage(root) {
    var roundId = parseInt(root.getAttribute('data-round-id'), 10);
    var method = root.getAttribute('data-method');
    var votes = null;
    var seen = false;
    var live = window.TavoliLive.start(root, {
      mode: storedMode(),
      announce: [],
      onChange: function (state, info) { if (votes) { votes.onLiveChange(state, info); } }
    });
    var messages = (live.messages && live.messages.vote) || {};
    votes = tracker(live, {
      stateUrl: root.getAttribute('data-state-url'),
      messages: messages,
      onUpdate: function (rounds) {
        var r = null;
        rounds.forEach(function (x) { if (x.id === roundId) { r = x; } });
        // Gone from the live list (an asynchronous round closed meanwhile), or closed: the final page.
        if (!r) { if (seen) { window.location.reload(); } return; }
        seen = true;
        if (r.status === 'closed') { window.location.reload(); return; }
        var text = root.querySelector('[data-turnout]');
        if (text) { text.textContent = turnoutText(messages, r.turnout); }
        var bar = root.querySelector('[data-turnout-bar]');
        if (bar && r.turnout) {
          bar.max = r.turnout.eligible || 1;
          bar.value = r.turnout.voted;
          bar.textContent = percentText(r.turnout.percent) + '%';
        }
        var list = root.querySelector('[data-chart]');
        if (list && r.ranking && r.ranking.length) {
          fillChart(list, r.ranking, { method: method, nItems: (r.items || []).length,
                                       valueLabel: (messages.values || {})[method], tieText: messages.tie });
          var body = root.querySelector('.vt-ranking-table tbody');
          if (body) {
            body.textContent = '';
            r.ranking.forEach(function (row) {
              body.appendChild(el('tr', {}, [
                el('td', { text: row.place + 'º' }), el('th', { scope: 'row', text: row.title }),
                el('td', { class: 'text-end', text: number(row.score) }), el('td', { text: row.tie ? messages.tie : '' })
              ]));
            });
          }
        }
      }
    });
  }

  var page = document.getElementById('live');
  if (page && page.getAttribute('data-live-page') === 'vote-results' && window.TavoliLive) {
    resultsPage(page);
  }
}());
