/* Participant view, phone first: a remote control for the delegate in the hall. The first screen
   shows what is being discussed, the bisogno in evidenza, the timer, the quorum and, when a round
   is open, a link straight to the ballot ("Hai votato" once cast); one tap opens the form to
   propose a bisogno, or the annotation form of the bisogno in evidenza. Below: the bisogni with
   their annotations and supports. Writes go through the outbox of live.js. Contributions are
   announced politely (live.js); a vote opening assertively (data-vote-announcer); focus only
   moves when the person asks (a tap on "Proponi un bisogno" or "Annota"). */
(function () {
  'use strict';

  var root = document.getElementById('live');
  if (!root || !window.TavoliLive) { return; }
  var el = window.TavoliLive.el;
  var canContribute = root.getAttribute('data-can-contribute') === 'true';
  var myOrganisation = root.getAttribute('data-organisation') || '';
  var textLimit = root.getAttribute('data-text-limit') || '';
  var MODE_KEY = 'tavoli.mode';
  var CLOSED = { accorpato: true, ritirato: true };
  var votes = null;  // the votazioni tracker (set up below)

  function storedMode() {
    try { return window.localStorage.getItem(MODE_KEY) === 'presenza' ? 'presenza' : 'remoto'; }
    catch (e) { return 'remoto'; }
  }

  var list = root.querySelector('[data-bisogni-list]');
  var count = root.querySelector('[data-bisogni-count]');
  var annotateSpotlight = root.querySelector('[data-action="annotate-spotlight"]');

  var live = window.TavoliLive.start(root, {
    mode: storedMode(),
    onChange: render,
    onTick: tick,
    onOpError: restore,
    announce: ['bisogno.created', 'annotation.created', 'agenda.moved', 'spotlight.set',
               'seduta.started', 'seduta.closed']
  });

  // --- the remote control ------------------------------------------------------------------------

  function renderSeduta(state) {
    var seduta = state.seduta;
    root.querySelector('[data-seduta-title]').textContent = seduta
      ? live.t('seduta_live', { n: seduta.number }) : live.t('no_seduta');
    root.querySelector('[data-seduta-live]').hidden = !seduta;
    var mode = root.querySelector('[data-seduta-mode]');
    if (mode) { mode.hidden = !seduta; }
    var b = seduta && seduta.spotlight_bisogno_id && state.bisogni[seduta.spotlight_bisogno_id];
    if (annotateSpotlight) {
      annotateSpotlight.hidden = !(b && !CLOSED[b.status]);
      annotateSpotlight.setAttribute('data-for-bisogno', b ? String(b.id) : '');
    }
    if (!seduta) { return; }
    root.querySelector('[data-current-item]').textContent = live.agendaTitle(seduta.current_item_id) || live.t('no_agenda_item');
    var spot = root.querySelector('[data-spotlight]');
    spot.textContent = '';
    if (b) {
      spot.appendChild(el('a', { href: '#bisogno-' + b.id, text: b.title }));
    } else {
      spot.textContent = live.t('spotlight_none');
    }
    var quorum = root.querySelector('[data-quorum]');
    var q = state.quorum;
    quorum.textContent = q ? (q.reached ? live.t('quorum_reached') : live.t('quorum_missing')) + ' · ' +
      live.t('quorum_short', { present: q.organisations_present, total: q.organisations_total }) : '—';
    quorum.className = q ? (q.reached ? 'tavoli-quorum-ok' : 'tavoli-quorum-ko') : '';
    tick(state);
  }

  function tick(state) {
    var row = root.querySelector('[data-timer-row]');
    if (!row) { return; }
    var seconds = live.remaining(state);
    row.hidden = seconds == null;
    if (seconds == null) { return; }
    root.querySelector('[data-timer-label]').textContent = (state.seduta.timer.label || '');
    var clock = root.querySelector('[data-timer]');
    clock.textContent = seconds > 0 ? live.clock(seconds) : live.t('timer_over');
    clock.classList.toggle('tavoli-timer-over', seconds === 0);
  }

  // --- the open vote: a link straight to the ballot, "Hai votato" once cast --------------------------

  var banner = root.querySelector('[data-vote-banner]');
  var voteAnnouncer = root.querySelector('[data-vote-announcer]');
  var myStatus = {};   // round id -> the answer of vote.status (eligible, voted, voter)
  var asking = {};

  function askStatus(round, force) {
    var socket = live.socket;
    if (!socket || !socket.connected || (asking[round.id] && !force)) { return; }
    asking[round.id] = true;
    socket.timeout(8000).emit('vote.status', { tavolo_id: live.tavoloId, round_id: round.id }, function (err, reply) {
      asking[round.id] = false;
      if (err || !reply || !reply.ok || !reply.result) { return; }
      myStatus[round.id] = reply.result;
      showVote(votes.list());
    });
  }

  function openRound(rounds) {
    var open = rounds.filter(function (r) { return r.status === 'open'; });
    // A round I may still vote in comes first, then the newest.
    var waiting = open.filter(function (r) { var s = myStatus[r.id]; return !s || (s.eligible && !s.voted); });
    return waiting[0] || open[0] || null;
  }

  function showVote(rounds) {
    var r = openRound(rounds);
    banner.hidden = !r;
    root.setAttribute('data-vote-open', r ? String(r.id) : '');
    if (!r) { return; }
    var vm = votes.messages || {};
    var status = myStatus[r.id];
    var link = banner.querySelector('[data-vote-link]');
    var call = banner.querySelector('[data-vote-call]');
    var done = status && status.voted;
    var eligible = !status || status.eligible;
    link.href = eligible ? r.ballot_url : r.results_url;
    call.textContent = done ? (status.voter === 'organisation' ? vm.voted_org : vm.voted)
      : (eligible ? live.t('vote_now') : live.t('vote_follow'));
    banner.querySelector('[data-vote-title]').textContent = r.title;
    banner.className = 'tavoli-vote-banner' + (done ? ' tavoli-vote-done' : (eligible ? '' : ' tavoli-vote-follow'));
    banner.setAttribute('data-voted', done ? 'true' : 'false');
  }

  function onVotes(rounds, change) {
    rounds.forEach(function (r) {
      if (r.status === 'open' && (!myStatus[r.id] || (change && change.kind === 'refresh'))) { askStatus(r); }
    });
    if (change && change.kind === 'vote.opened' && change.round) {
      voteAnnouncer.textContent = '';
      window.setTimeout(function () {
        voteAnnouncer.textContent = live.t('vote_opened_alert', { title: change.round.title });
      }, 60);
    }
    showVote(rounds);
  }

  if (banner && window.TavoliVotes) {
    var init = {};
    try { init = JSON.parse(root.getAttribute('data-votes-init') || '{}') || {}; } catch (e) { init = {}; }
    votes = window.TavoliVotes.tracker(live, { init: init, onUpdate: onVotes });
    onVotes(votes.list(), {});
    // Back from the ballot (or another tab): ask again whether I voted.
    var again = function () {
      if (document.visibilityState !== 'visible') { return; }
      votes.list().forEach(function (r) { if (r.status === 'open') { askStatus(r, true); } });
    };
    document.addEventListener('visibilitychange', again);
    window.addEventListener('pageshow', function (e) { if (e.persisted) { again(); } });
  }

  // --- bisogni and annotations ------------------------------------------------------------------

  function supportButton(a) {
    if (!canContribute || !myOrganisation) { return null; }
    var pressed = (a.supports || []).indexOf(myOrganisation) >= 0;
    return [el('button', {
      type: 'button',
      class: 'btn btn-xs ' + (pressed ? 'btn-primary' : 'btn-outline-primary'),
      'aria-pressed': pressed ? 'true' : 'false',
      'data-focus-key': 'support-' + a.id,
      onclick: function () {
        live.send('annotation.support', { annotation_id: a.id, support: !pressed },
                  { target: 'ann-' + a.bisogno_id });
      }
    }, [pressed ? live.t('supported') : live.t('support'),
        el('span', { class: 'visually-hidden', text: ' – ' + live.t('support_label', { who: a.organisation || a.author || '' }) })])];
  }

  function field(id, labelText, control, wrapperClass) {
    return el('div', { class: wrapperClass || 'form-group mb-3' }, [
      el('label', { for: id, class: wrapperClass ? null : 'active', text: labelText }), control
    ]);
  }

  function annotationForm(b) {
    if (!canContribute) { return null; }
    var target = 'ann-' + b.id;
    var kinds = live.messages.kinds || {};
    var kind = el('select', { class: 'form-select', id: target + '-kind', name: 'kind' },
      Object.keys(kinds).map(function (k) { return el('option', { value: k, text: kinds[k] }); }));
    var body = el('textarea', { class: 'form-control', id: target + '-body', name: 'body', rows: '3',
                                'data-text-limit': textLimit || null, 'aria-describedby': target + '-body-conta' });
    var counter = el('p', { class: 'tavoli-counter form-text', id: target + '-body-conta', 'data-counter-for': target + '-body' });
    var parent = el('select', { class: 'form-select', id: target + '-parent', name: 'parent_id', 'data-reply-select': true },
      [el('option', { value: '', text: live.t('reply_none') })]);
    var form = el('form', { class: 'tavoli-annotation-form', novalidate: true, 'data-annotation-form': b.id }, [
      el('div', { class: 'tavoli-form-error', role: 'alert', 'data-error-for': target }),
      field(target + '-kind', live.t('kind'), kind, 'select-wrapper mb-3'),
      field(target + '-body', live.t('text'), body),
      counter,
      field(target + '-parent', live.t('reply_to'), parent, 'select-wrapper mb-3'),
      el('button', { type: 'submit', class: 'btn btn-primary btn-sm' }, [
        live.t('send_annotation'), el('span', { class: 'visually-hidden', text: ': ' + b.title })
      ]),
      el('p', { class: 'tavoli-form-status mt-2 mb-0', role: 'status', 'data-status-for': target })
    ]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var text = body.value.trim();
      if (!text) {
        live.showError(target, live.t('text_required'));
        body.setAttribute('aria-invalid', 'true');
        body.focus();
        return;
      }
      body.removeAttribute('aria-invalid');
      var data = { bisogno_id: b.id, kind: kind.value, body: text,
                   parent_id: parent.value ? parseInt(parent.value, 10) : null };
      live.send('annotation.create', data, { target: target, restore: data });
      body.value = '';
      parent.value = '';
    });
    var details = el('details', { class: 'tavoli-annotate' }, [
      el('summary', {}, [live.t('add_annotation'), el('span', { class: 'visually-hidden', text: ': ' + b.title })]),
      form
    ]);
    if (window.TavoliCounter) { window.TavoliCounter.attach(body, counter); }
    return details;
  }

  function updateCard(b, card, annotations) {
    var details = card.querySelector('.tavoli-annotate');
    if (details) { details.hidden = !!CLOSED[b.status]; }
    var select = card.querySelector('[data-reply-select]');
    if (!select) { return; }
    var chosen = select.value;
    while (select.options.length > 1) { select.remove(1); }
    annotations.filter(function (a) { return !a.deleted; }).forEach(function (a) {
      var who = a.organisation || a.author || '';
      var snippet = (a.body || '').slice(0, 60);
      select.appendChild(el('option', { value: a.id, text: who + ' – ' + live.label('kinds', a.kind) + ': ' + snippet }));
    });
    select.value = chosen;
    if (select.value !== chosen) { select.value = ''; }
  }

  function render(state, info) {
    renderSeduta(state);
    live.renderBisogni(list, state, {
      annotationActions: supportButton,
      extra: annotationForm,
      update: updateCard,
      emptyText: live.t('no_bisogni')
    });
    count.textContent = String(Object.keys(state.bisogni).length);
    if (votes) { votes.onLiveChange(state, info || {}); }
  }

  // --- presence mode -------------------------------------------------------------------------------

  Array.prototype.forEach.call(root.querySelectorAll('[data-mode]'), function (radio) {
    radio.checked = radio.value === live.mode;
    radio.addEventListener('change', function () {
      if (!radio.checked) { return; }
      try { window.localStorage.setItem(MODE_KEY, radio.value); } catch (e) { /* ignore */ }
      live.setMode(radio.value);
    });
  });

  // --- one tap to contribute ------------------------------------------------------------------------

  var proposeButton = root.querySelector('[data-action="propose"]');
  var proposeSection = root.querySelector('#proponi');

  function showForm(open) {
    if (!proposeButton || !proposeSection) { return; }
    proposeSection.hidden = !open;
    proposeButton.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) {
      var title = proposeSection.querySelector('#b-title');
      title.focus();
      proposeSection.scrollIntoView({ block: 'start' });
    } else {
      proposeButton.focus();
    }
  }
  if (proposeButton) {
    proposeButton.addEventListener('click', function () {
      showForm(proposeButton.getAttribute('aria-expanded') !== 'true');
    });
    var closeForm = root.querySelector('[data-action="propose-close"]');
    if (closeForm) { closeForm.addEventListener('click', function () { showForm(false); }); }
    // A link to #proponi (from another page, or typed) opens the form too.
    if (window.location.hash === '#proponi') { showForm(true); }
  }

  if (annotateSpotlight) {
    annotateSpotlight.addEventListener('click', function () {
      var id = annotateSpotlight.getAttribute('data-for-bisogno');
      var card = id && root.querySelector('[data-bisogno-id="' + id + '"]');
      var details = card && card.querySelector('.tavoli-annotate');
      if (!details) { return; }
      details.open = true;
      card.scrollIntoView({ block: 'start' });
      var kind = details.querySelector('select[name="kind"]');
      if (kind) { kind.focus(); }
    });
  }

  // --- raising a bisogno ---------------------------------------------------------------------------

  var form = root.querySelector('[data-bisogno-form]');
  if (!form) { return; }
  var macroSelect = form.querySelector('[data-macroarea-select]');

  function showKeyPoints() {
    Array.prototype.forEach.call(form.querySelectorAll('[data-kp-for]'), function (fs) {
      var visible = fs.getAttribute('data-kp-for') === macroSelect.value;
      fs.hidden = !visible;
      if (!visible) {
        Array.prototype.forEach.call(fs.querySelectorAll('input'), function (i) { i.checked = false; });
      }
    });
  }
  macroSelect.addEventListener('change', showKeyPoints);
  showKeyPoints();

  function value(name) {
    var input = form.elements[name];
    return input ? String(input.value || '').trim() : '';
  }

  function collect() {
    var year = value('evidence_year');
    var keyPoints = Array.prototype.filter.call(form.querySelectorAll('[data-kp-for]:not([hidden]) input:checked'),
      function () { return true; }).map(function (i) { return parseInt(i.value, 10); });
    var consolidation = form.querySelector('input[name="consolidation"]:checked');
    return {
      title: value('title'),
      macroarea: macroSelect.value,
      description: value('description'),
      target_population: value('target_population'),
      evidence_source: value('evidence_source'),
      evidence_figure: value('evidence_figure'),
      evidence_year: year && /^\d+$/.test(year) ? parseInt(year, 10) : null,
      consolidation: consolidation ? consolidation.value : 'nuovo',
      key_points: keyPoints
    };
  }

  function fill(data) {
    ['title', 'description', 'target_population', 'evidence_source', 'evidence_figure'].forEach(function (name) {
      if (form.elements[name]) { form.elements[name].value = data[name] || ''; }
    });
    form.elements.evidence_year.value = data.evidence_year == null ? '' : String(data.evidence_year);
    if (data.macroarea) { macroSelect.value = data.macroarea; }
    showKeyPoints();
    Array.prototype.forEach.call(form.querySelectorAll('input[name="consolidation"]'), function (r) {
      r.checked = r.value === (data.consolidation || 'nuovo');
    });
    (data.key_points || []).forEach(function (id) {
      var box = form.querySelector('input[name="key_points"][value="' + id + '"]');
      if (box) { box.checked = true; }
    });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var title = form.elements.title;
    var data = collect();
    if (!data.title) {
      live.showError('form-bisogno', live.t('title_required'));
      title.setAttribute('aria-invalid', 'true');
      title.focus();
      return;
    }
    title.removeAttribute('aria-invalid');
    live.send('bisogno.create', data, { target: 'form-bisogno', restore: data });
    form.reset();
    showKeyPoints();
  });

  /* A refused operation gives its text back, so nothing typed is lost. */
  function restore(entry) {
    if (!entry.restore) { return; }
    if (entry.name === 'bisogno.create' && !value('title')) {
      fill(entry.restore);
      live.showStatusFor('form-bisogno', live.t('restored'));
      form.elements.title.focus();
    } else if (entry.name === 'annotation.create') {
      var target = 'ann-' + entry.restore.bisogno_id;
      var body = document.getElementById(target + '-body');
      if (body && !body.value.trim()) {
        body.value = entry.restore.body || '';
        var kind = document.getElementById(target + '-kind');
        if (kind) { kind.value = entry.restore.kind; }
        var details = body.closest('details');
        if (details) { details.open = true; }
        live.showStatusFor(target, live.t('restored'));
      }
    }
  }
}());
