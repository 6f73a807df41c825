/* The ballot page: helps fill in the ballot of each method (counters, remaining points, a ranking
   without duplicate places, read back in words through aria-live), sends it through the live outbox
   (`vote.cast`, retried until acknowledged, applied once) when the page is connected, and follows the
   round: turnout as it changes, and the results page as soon as the round is closed.

   Without JavaScript, or while the live channel is not joined, the form is a plain POST that the
   server validates the same way. */
(function () {
  'use strict';

  var root = document.getElementById('live');
  var Votes = window.TavoliVotes;
  if (!root || !window.TavoliLive || !Votes) { return; }
  var el = window.TavoliLive.el;
  var roundId = parseInt(root.getAttribute('data-round-id'), 10);
  var status = root.getAttribute('data-round-status');
  var method = root.getAttribute('data-method');
  var secret = root.getAttribute('data-secret') === 'true';
  var resultsUrl = root.getAttribute('data-results-url');
  var form = root.querySelector('[data-ballot-form]');
  var submit = form ? form.querySelector('[data-ballot-submit]') : null;
  var errorBox = root.querySelector('[data-error-for="ballot"]');
  var leaving = false;
  var votes = null;

  function storedMode() {
    try { return window.localStorage.getItem('tavoli.mode') === 'presenza' ? 'presenza' : 'remoto'; }
    catch (e) { return 'remoto'; }
  }

  var live = window.TavoliLive.start(root, {
    mode: storedMode(),
    announce: [],
    onChange: function (state, info) { if (votes) { votes.onLiveChange(state, info); } },
    onAck: acknowledged,
    onOpError: refused
  });
  var m = (live.messages && live.messages.vote) || {};

  // --- the round, live ---------------------------------------------------------------------------

  var seen = false;
  votes = Votes.tracker(live, {
    stateUrl: root.getAttribute('data-state-url'),
    messages: m,
    onUpdate: function (rounds) {
      var r = null;
      rounds.forEach(function (x) { if (x.id === roundId) { r = x; } });
      if (!r) { if (seen && status === 'open') { goToResults(); } return; }
      seen = true;
      if (r.status === 'closed') { goToResults(); return; }
      if (r.status === 'open' && status === 'draft') { leaving = true; window.location.reload(); return; }
      var text = root.querySelector('[data-turnout]');
      if (text && r.turnout) { text.textContent = Votes.turnoutText(m, r.turnout); }
      var bar = root.querySelector('[data-turnout-bar]');
      if (bar && r.turnout) { bar.max = r.turnout.eligible || 1; bar.value = r.turnout.voted; }
    }
  });

  function goToResults() {
    if (leaving) { return; }
    leaving = true;
    live.announce(m.closed_go);
    window.location.assign(resultsUrl);
  }

  if (!form) { return; }

  // --- helpers for each method ------------------------------------------------------------------

  function inputs(selector) {
    return Array.prototype.slice.call(form.querySelectorAll(selector)).filter(function (i) { return !i.disabled; });
  }

  function setError(message) {
    errorBox.textContent = '';
    if (message) { errorBox.appendChild(el('p', { class: 'tavoli-error-text mb-0', text: message })); }
  }

  function approvalState() {
    var limit = parseInt(root.getAttribute('data-limit'), 10);
    var n = inputs('[data-approval]').filter(function (i) { return i.checked; }).length;
    return { n: n, k: limit, error: n > limit ? Votes.format(m.approval_over, { n: n, k: limit, extra: n - limit }) : null };
  }

  function dotState() {
    var total = parseInt(root.getAttribute('data-points'), 10);
    var perItem = parseInt(root.getAttribute('data-per-item'), 10);
    var used = 0;
    var bad = null;
    inputs('[data-points-input]').forEach(function (input) {
      var raw = input.value.trim();
      if (!raw) { input.removeAttribute('aria-invalid'); return; }
      var n = /^\d+$/.test(raw) ? parseInt(raw, 10) : NaN;
      var wrong = isNaN(n) || n > perItem;
      if (wrong) { input.setAttribute('aria-invalid', 'true'); } else { input.removeAttribute('aria-invalid'); }
      if (wrong && !bad) { bad = input; }
      if (!isNaN(n)) { used += n; }
    });
    var error = null;
    if (bad) {
      error = m.fix_ballot + ' ' + bad.labels[0].textContent.trim() + ': 0–' + perItem + '.';
    } else if (used > total) {
      error = Votes.format(m.dot_over, { used: used, total: total });
    }
    return { used: used, total: total, left: total - used, error: error };
  }

  function rankState() {
    var byPlace = {};
    var ranked = [];
    inputs('[data-rank-select]').forEach(function (select) {
      select.removeAttribute('aria-invalid');
      if (!select.value) { return; }
      var place = parseInt(select.value, 10);
      (byPlace[place] = byPlace[place] || []).push(select);
      ranked.push({ place: place, select: select });
    });
    var error = null;
    Object.keys(byPlace).sort(function (a, b) { return a - b; }).forEach(function (place) {
      var selects = byPlace[place];
      if (selects.length < 2) { return; }
      selects.forEach(function (s) { s.setAttribute('aria-invalid', 'true'); });
      if (!error) {
        error = Votes.format(m.rank_duplicate, { p: place, titles: selects.map(function (s) {
          return '«' + s.getAttribute('data-title') + '»';
        }).join(', ') });
      }
    });
    ranked.sort(function (a, b) { return a.place - b.place; });
    return { ranked: ranked, error: error };
  }

  function check() {
    if (method === 'approval') {
      var a = approvalState();
      root.querySelector('[data-approval-count]').textContent = Votes.format(m.approval_count, { n: a.n, k: a.k });
      return a.error;
    }
    if (method === 'dot') {
      var d = dotState();
      root.querySelector('[data-dot-left]').textContent = Votes.format(m.dot_left, { left: d.left, total: d.total });
      return d.error;
    }
    if (method === 'borda' || method === 'schulze') {
      var r = rankState();
      root.querySelector('[data-rank-preview]').textContent = r.error ? r.error : (r.ranked.length
        ? Votes.format(m.rank_preview, { list: r.ranked.map(function (x, i) {
          return (i + 1) + '. ' + x.select.getAttribute('data-title');
        }).join('; ') })
        : m.rank_empty);
      return r.error;
    }
    return null;
  }

  var shownError = false;
  function recheck() {
    var error = check();
    if (error || shownError) { setError(error); shownError = !!error; }
  }
  form.addEventListener('change', recheck);
  form.addEventListener('input', recheck);
  check();

  // --- the ballot as the vote.cast operation wants it --------------------------------------------

  function ballot() {
    if (method === 'approval') {
      return { approve: inputs('[data-approval]').filter(function (i) { return i.checked; })
        .map(function (i) { return i.value; }) };
    }
    if (method === 'dot') {
      var points = {};
      inputs('[data-points-input]').forEach(function (input) {
        var n = parseInt(input.value, 10);
        if (n > 0) { points[input.name.slice('punti-'.length)] = n; }
      });
      return { points: points };
    }
    if (method === 'score') {
      var criteria = JSON.parse(root.getAttribute('data-criteria') || '[]');
      var scores = {};
      inputs('input[type="radio"]').forEach(function (radio) {
        if (!radio.checked || !radio.value) { return; }
        var parts = radio.name.split('-');  // voto-<bisogno>-<criterion index>
        var bid = parts[1];
        (scores[bid] = scores[bid] || {})[criteria[parseInt(parts[2], 10)]] = parseInt(radio.value, 10);
      });
      return { scores: scores };
    }
    return { ranking: rankState().ranked.map(function (x) { return x.select.name.slice('posizione-'.length); }) };
  }

  form.addEventListener('submit', function (e) {
    var error = check();
    if (error) {
      e.preventDefault();
      setError(error);
      shownError = true;
      errorBox.focus();
      return;
    }
    if (!(live.socket && live.socket.connected && live.joined)) { return; }  // plain POST
    e.preventDefault();
    setError('');
    submit.disabled = true;
    live.send('vote.cast', { round_id: roundId, ballot: ballot() }, { target: 'ballot' });
  });

  function acknowledged(entry, ack) {
    if (entry.name !== 'vote.cast' || entry.data.round_id !== roundId) { return; }
    var receipt = ack.result || {};
    var box = root.querySelector('[data-voted-box]');
    root.querySelector('[data-voted-text]').textContent = receipt.voter === 'organisation' ? m.voted_org : m.voted;
    box.hidden = false;
    root.setAttribute('data-voted', 'true');
    if (receipt.turnout) {
      root.querySelector('[data-turnout]').textContent = Votes.turnoutText(m, receipt.turnout);
      var bar = root.querySelector('[data-turnout-bar]');
      if (bar) { bar.max = receipt.turnout.eligible || 1; bar.value = receipt.turnout.voted; }
    }
    var interest = root.querySelector('#interessi');
    if (interest) { interest.remove(); }  // after voting an interest can no longer be declared
    if (secret) {
      var section = root.querySelector('#scheda');
      if (section) { section.remove(); }
    } else {
      submit.disabled = false;
      submit.textContent = root.getAttribute('data-label-replace') || submit.textContent;
      if (receipt.replaced) { live.showStatusFor('ballot', m.replaced); }
    }
    box.focus();
  }

  function refused(entry) {
    if (entry.name !== 'vote.cast' || entry.data.round_id !== roundId) { return; }
    if (submit) { submit.disabled = false; }
    errorBox.focus();
  }
}());
