/* The big screen: read-only, large type, high contrast. Follows the spotlight and the agenda,
   counts the timer down, shows presence and quorum; changes are announced (aria-live). It joins
   without registering a presence: a projector is not a participant. During a vote it shows the
   turnout (and the partial results where the round allows them), then the results once closed. */
(function () {
  'use strict';

  var root = document.getElementById('live');
  if (!root || !window.TavoliLive) { return; }
  var el = window.TavoliLive.el;
  var screen = root.querySelector('[data-screen]');
  var spotlight = root.querySelector('[data-spotlight]');
  var shownSignature = null;
  var votes = null;  // the votazioni tracker (set up below)

  var live = window.TavoliLive.start(root, {
    onChange: render,
    onTick: tick,
    announce: ['spotlight.set', 'agenda.moved', 'seduta.started', 'seduta.closed']
  });

  function tick(state) {
    var seconds = live.remaining(state);
    var clock = root.querySelector('[data-timer]');
    clock.textContent = seconds == null ? '—' : (seconds > 0 ? live.clock(seconds) : live.t('timer_over'));
    clock.classList.toggle('tavoli-timer-over', seconds === 0);
    root.querySelector('[data-timer-label]').textContent =
      seconds == null || !state.seduta.timer.label ? '' : '· ' + state.seduta.timer.label;
  }

  function renderSpotlight(state) {
    var id = state.seduta ? state.seduta.spotlight_bisogno_id : null;
    var b = id ? state.bisogni[id] : null;
    var annotations = b ? live.annotationsOf(state, b.id).filter(function (a) { return !a.deleted; }) : [];
    var signature = JSON.stringify([b && b.id, b && b.version, annotations.map(function (a) {
      return [a.id, (a.supports || []).length];
    })]);
    if (signature === shownSignature) { return; }
    shownSignature = signature;
    spotlight.textContent = '';
    if (!b) {
      spotlight.appendChild(el('p', { class: 'tavoli-bs-empty', text: live.t('spotlight_none') }));
      return;
    }
    spotlight.appendChild(el('h3', { class: 'tavoli-bs-title', text: b.title }));
    live.bisognoBody(b).forEach(function (node) { spotlight.appendChild(node); });
    var n = annotations.length;
    spotlight.appendChild(el('p', { class: 'tavoli-bs-label mt-3',
      text: n === 1 ? live.t('annotation_count_one') : live.t('annotation_count_many', { n: n }) }));
    if (n) {
      spotlight.appendChild(el('ul', { class: 'tavoli-bs-annotations' }, annotations.slice(-4).map(function (a) {
        return el('li', {}, [
          el('span', { class: 'badge tavoli-kind tavoli-kind-' + a.kind, text: live.label('kinds', a.kind) }), ' ',
          el('strong', { text: (a.organisation || a.author || '') + ': ' }),
          el('span', { text: a.body || '' })
        ]);
      })));
    }
  }

  function render(state, info) {
    var seduta = state.seduta;
    root.querySelector('[data-seduta-title]').textContent = seduta
      ? live.t('seduta_live', { n: seduta.number }) : live.t('no_seduta');
    root.querySelector('[data-current-item]').textContent =
      seduta ? (live.agendaTitle(seduta.current_item_id) || live.t('no_agenda_item')) : '—';
    var people = root.querySelector('[data-people]');
    var quorum = root.querySelector('[data-quorum]');
    if (seduta) {
      var n = Object.keys(state.presences).length;
      people.textContent = live.t('people_present', { n: n });
      var q = state.quorum;
      quorum.textContent = q ? (q.reached ? live.t('quorum_reached') : live.t('quorum_missing')) + ' · ' +
        live.t('quorum_detail', { present: q.organisations_present, total: q.organisations_total,
                                  threshold: q.threshold_percent }) : '';
      quorum.className = 'tavoli-bs-quorum ' + (q && q.reached ? 'tavoli-bs-ok' : '');
    } else {
      people.textContent = '—';
      quorum.textContent = '';
    }
    renderSpotlight(state);
    tick(state);
    if (votes) { votes.onLiveChange(state, info || {}); }
  }

  // --- the vote on screen: the open round (turnout, partial results), else the last closed one ------

  var voteBox = root.querySelector('[data-vote-screen]');
  if (voteBox && window.TavoliVotes) {
    var Votes = window.TavoliVotes;
    var init = JSON.parse(voteBox.getAttribute('data-votes-init') || '{}');
    var vm = init.messages || {};
    var voteSignature = null;

    var pick = function (rounds) {
      var open = rounds.filter(function (r) { return r.status === 'open'; });
      if (open.length) { return open[0]; }  // newest first
      var closed = rounds.filter(function (r) { return r.status === 'closed' && r.final; });
      return closed.length ? closed[0] : null;
    };

    var renderVote = function (rounds, change) {
      var r = pick(rounds);
      voteBox.hidden = !r;
      if (change && change.round && (change.kind === 'vote.opened' || change.kind === 'vote.closed')) {
        live.announce(Votes.format(change.kind === 'vote.opened' ? vm.vote_opened : vm.vote_closed,
                                   { title: change.round.title }));
      }
      if (!r) { voteSignature = null; return; }
      var closed = r.status === 'closed';
      root.querySelector('[data-vote-label]').textContent = closed ? vm.final : (vm.status || {}).open;
      root.querySelector('[data-vote-title]').textContent = r.title;
      root.querySelector('[data-vote-turnout]').textContent = Votes.turnoutText(vm, r.turnout);
      root.querySelector('[data-vote-bar]').className = Votes.barClass(r.turnout);
      var rows = r.ranking || [];
      var signature = JSON.stringify([r.id, r.status, rows]);
      if (signature === voteSignature) { return; }
      voteSignature = signature;
      var place = root.querySelector('[data-vote-chart]');
      place.textContent = '';
      if (rows.length) {
        var label = (vm.values || {})[r.method] || '';
        place.appendChild(Votes.chart(rows, {
          id: 'bs-grafico', method: r.method, nItems: (r.items || []).length, valueLabel: label,
          tieText: vm.tie, limit: 10,
          caption: Votes.format(vm.chart, { title: closed ? vm.final : vm.partial })
        }));
      } else if (!closed) {
        place.appendChild(el('p', { class: 'tavoli-bs-empty', text: vm.turnout_only }));
      }
    };

    votes = Votes.tracker(live, { init: init, onUpdate: renderVote });
    renderVote(votes.list(), {});
  }

  var full = root.querySelector('[data-action="fullscreen"]');
  if (full) {
    if (!screen.requestFullscreen) { full.hidden = true; }
    full.addEventListener('click', function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else { screen.requestFullscreen(); }
    });
  }
}());
