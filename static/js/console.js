/* The facilitator's console: start/close the seduta, move along the agenda, spotlight a bisogno on
   the big screen, run a timer, keep the presence register and watch the quorum; open and close the
   tavolo's votazioni and follow their turnout (TavoliVotes, static/js/vote-results.js). */
(function () {
  'use strict';

  var root = document.getElementById('live');
  if (!root || !window.TavoliLive) { return; }
  var el = window.TavoliLive.el;
  var sedutaId = parseInt(root.getAttribute('data-seduta-id'), 10);
  var status = root.getAttribute('data-seduta-status');  // convocata | in_corso | chiusa
  var list = root.querySelector('[data-bisogni-list]');
  var current = null;  // the last state seen
  var votes = null;    // the votazioni tracker (set up below, after the live client)

  var live = window.TavoliLive.start(root, {
    mode: 'presenza',
    register: true,  // the console shows who is present: the join brings the register
    onChange: render,
    onTick: tick,
    announce: ['bisogno.created', 'annotation.created', 'seduta.started', 'seduta.closed', 'role.set',
               'role.removed', 'member.added', 'member.removed']
  });

  function mine(state) { return !!(state.seduta && state.seduta.id === sedutaId); }

  function send(name, data, target) {
    return live.send(name, Object.assign({ seduta_id: sedutaId }, data), { target: target });
  }

  // --- status, start and close ---------------------------------------------------------------------

  function renderStatus(state, info) {
    if (mine(state)) {
      status = 'in_corso';
    } else if (status === 'in_corso') {
      status = 'chiusa';  // the snapshot no longer shows it live
    }
    if (info.event && info.event.payload && info.event.payload.id === sedutaId) {
      if (info.event.kind === 'seduta.started') { status = 'in_corso'; }
      if (info.event.kind === 'seduta.closed') { status = 'chiusa'; }
    }
    var badge = root.querySelector('[data-status-badge]');
    badge.textContent = live.label('status', status);
    badge.className = 'badge tavoli-seduta-status tavoli-seduta-' + status;
    root.querySelector('[data-action="start"]').hidden = status !== 'convocata';
    root.querySelector('[data-action="close"]').hidden = status !== 'in_corso';
  }

  root.querySelector('[data-action="start"]').addEventListener('click', function () {
    send('seduta.start', {}, 'seduta');
  });
  root.querySelector('[data-action="close"]').addEventListener('click', function () {
    if (window.confirm(live.t('ask_close'))) { send('seduta.close', {}, 'seduta'); }
  });

  // --- agenda --------------------------------------------------------------------------------------

  function renderAgenda(state) {
    var currentId = mine(state) ? state.seduta.current_item_id : null;
    Array.prototype.forEach.call(root.querySelectorAll('[data-agenda] > li'), function (li) {
      var isCurrent = parseInt(li.getAttribute('data-item-id'), 10) === currentId;
      li.classList.toggle('tavoli-agenda-current', isCurrent);
      if (isCurrent) { li.setAttribute('aria-current', 'step'); } else { li.removeAttribute('aria-current'); }
      li.querySelector('[data-current-badge]').hidden = !isCurrent;
      var button = li.querySelector('[data-action="agenda"]');
      button.disabled = !mine(state);
    });
  }

  Array.prototype.forEach.call(root.querySelectorAll('[data-action="agenda"]'), function (button) {
    button.addEventListener('click', function () {
      send('agenda.move', { item_id: parseInt(button.getAttribute('data-item-id'), 10) }, 'agenda');
    });
  });

  // --- timer ---------------------------------------------------------------------------------------

  var timerForm = root.querySelector('[data-timer-form]');
  timerForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var minutes = parseInt(timerForm.elements.minutes.value, 10);
    if (!(minutes >= 1 && minutes <= 240)) {
      live.showError('timer', live.t('minutes_invalid'));
      timerForm.elements.minutes.setAttribute('aria-invalid', 'true');
      timerForm.elements.minutes.focus();
      return;
    }
    timerForm.elements.minutes.removeAttribute('aria-invalid');
    send('timer.set', { seconds: minutes * 60, label: timerForm.elements.label.value.trim() }, 'timer');
  });
  root.querySelector('[data-action="timer-stop"]').addEventListener('click', function () {
    send('timer.set', { seconds: 0, label: '' }, 'timer');
  });

  function tick(state) {
    var seconds = mine(state) ? live.remaining(state) : null;
    var clock = root.querySelector('[data-timer]');
    clock.textContent = seconds == null ? '—' : (seconds > 0 ? live.clock(seconds) : live.t('timer_over'));
    clock.classList.toggle('tavoli-timer-over', seconds === 0);
    root.querySelector('[data-timer-label]').textContent =
      seconds == null ? '' : (state.seduta.timer.label || '');
  }

  // --- presence and quorum ------------------------------------------------------------------------

  function renderPresence(state) {
    var live_ = mine(state);
    Array.prototype.forEach.call(root.querySelectorAll('[data-person]'), function (row) {
      var userId = row.getAttribute('data-person');
      var p = live_ ? state.presences[userId] : null;
      var cell = row.querySelector('[data-presence-cell]');
      cell.textContent = '';
      if (p) {
        cell.appendChild(el('span', { class: 'badge tavoli-present', text: live.t('present_since', { time: live.time(p.joined_at) }) }));
        cell.appendChild(el('span', { class: 'd-block small tavoli-muted',
          text: live.label('presence_modes', p.mode) + ' · ' + live.label('presence_sources', p.source) }));
      } else {
        cell.textContent = live.t('absent');
      }
      row.classList.toggle('tavoli-row-present', !!p);
      row.querySelector('[data-action="present"]').disabled = !live_;
      row.querySelector('[data-action="absent"]').disabled = !live_;
    });
    root.querySelector('[data-people-count]').textContent = String(live_ ? Object.keys(state.presences).length : 0);
    var quorum = root.querySelector('[data-quorum]');
    var detail = root.querySelector('[data-quorum-detail]');
    var q = live_ ? state.quorum : null;
    quorum.className = 'tavoli-quorum mb-1';
    if (!live_) {
      quorum.textContent = live.t('quorum_none');
      detail.textContent = '';
    } else if (!q) {
      quorum.textContent = live.t('quorum_missing');
      detail.textContent = live.t('people_present', { n: Object.keys(state.presences).length });
    } else {
      quorum.textContent = q.reached ? live.t('quorum_reached') : live.t('quorum_missing');
      quorum.classList.add(q.reached ? 'tavoli-quorum-ok' : 'tavoli-quorum-ko');
      detail.textContent = live.t('quorum_detail', { present: q.organisations_present, total: q.organisations_total,
                                                      threshold: q.threshold_percent }) + ' · ' +
        live.t('people_present', { n: q.people_present });
    }
  }

  Array.prototype.forEach.call(root.querySelectorAll('[data-action="present"], [data-action="absent"]'), function (button) {
    button.addEventListener('click', function () {
      send('presence.mark', { user_id: parseInt(button.getAttribute('data-user-id'), 10),
                              present: button.getAttribute('data-action') === 'present', mode: 'presenza' }, 'presence');
    });
  });

  // --- bisogni and spotlight --------------------------------------------------------------------

  function spotlighted(state) { return mine(state) ? state.seduta.spotlight_bisogno_id : null; }

  function spotlightButton(b) {
    var state = current;
    var on = spotlighted(state) === b.id;
    return [
      on ? el('span', { class: 'badge tavoli-spotlight-badge', text: live.t('spotlight_on') }) : null,
      el('button', {
        type: 'button',
        class: 'btn btn-sm ' + (on ? 'btn-primary' : 'btn-outline-primary'),
        'aria-pressed': on ? 'true' : 'false',
        'data-focus-key': 'spotlight-' + b.id,
        'data-spotlight-button': b.id,
        disabled: !mine(state),
        onclick: function () { send('spotlight.set', { bisogno_id: b.id }, 'spotlight'); }
      }, [live.t('spotlight'), el('span', { class: 'visually-hidden', text: ': ' + b.title })])
    ].filter(Boolean);
  }

  function render(state, info) {
    current = state;
    renderStatus(state, info || {});
    renderAgenda(state);
    renderPresence(state);
    tick(state);
    root.querySelector('[data-action="spotlight-clear"]').disabled = !mine(state) || !spotlighted(state);
    live.renderBisogni(list, state, {
      actions: spotlightButton,
      sig: function (b) { return (spotlighted(state) === b.id ? 'on' : 'off') + (mine(state) ? 'L' : ''); },
      emptyText: live.t('no_bisogni_console')
    });
    root.querySelector('[data-bisogni-count]').textContent = String(Object.keys(state.bisogni).length);
    if (votes) { votes.onLiveChange(state, info || {}); }
  }

  root.querySelector('[data-action="spotlight-clear"]').addEventListener('click', function () {
    send('spotlight.set', { bisogno_id: null }, 'spotlight');
  });

  // --- votazioni: open, close, turnout --------------------------------------------------------------

  var votesBox = root.querySelector('[data-votes]');
  if (votesBox && window.TavoliVotes) {
    var Votes = window.TavoliVotes;
    var init = JSON.parse(votesBox.getAttribute('data-votes-init') || '{}');
    var vm = init.messages || {};
    var votesList = votesBox.querySelector('[data-votes-list]');

    var voteButton = function (r, action, label, klass) {
      return el('button', {
        type: 'button', class: 'btn btn-sm ' + klass, 'data-focus-key': action + '-' + r.id,
        'data-vote-action': action, 'data-round-id': r.id,
        onclick: function () {
          if (action === 'close' && !window.confirm(Votes.format(vm.ask_close, { title: r.title }))) { return; }
          live.send(action === 'open' ? 'vote.open' : 'vote.close', { round_id: r.id }, { target: 'votes' });
        }
      }, [label, el('span', { class: 'visually-hidden', text: ': ' + r.title })]);
    };

    var renderVotes = function (rounds, change) {
      var shown = rounds.filter(function (r) { return r.status !== 'closed' || r.seduta_id === sedutaId; });
      if (change && change.kind === 'vote.live' && change.round && change.round.status === 'open') {
        var line = votesList.querySelector('[data-vote-turnout="' + change.round.id + '"]');
        if (line) { line.textContent = Votes.turnoutText(vm, change.round.turnout); return; }
      }
      var active = document.activeElement;
      var key = active && votesList.contains(active) ? active.getAttribute('data-focus-key') : null;
      votesList.textContent = '';
      if (!shown.length) {
        votesList.appendChild(el('li', { class: 'tavoli-muted', text: vm.no_rounds }));
      }
      shown.forEach(function (r) {
        var when = r.seduta_id ? vm.live_round : Votes.format(vm.async_round, { date: r.closes_local || '' });
        var actions = [];
        if (r.status === 'draft') {
          actions.push(voteButton(r, 'open', vm.open, 'btn-success'));
        } else if (r.status === 'open') {
          actions.push(voteButton(r, 'close', vm.close, 'btn-outline-danger'));
        }
        actions.push(el('a', { href: r.ballot_url, class: 'btn btn-outline-primary btn-sm' },
                        [vm.ballot, el('span', { class: 'visually-hidden', text: ': ' + r.title })]));
        if (r.status !== 'draft') {
          actions.push(el('a', { href: r.results_url, class: 'btn btn-outline-primary btn-sm' },
                          [vm.results, el('span', { class: 'visually-hidden', text: ': ' + r.title })]));
        }
        votesList.appendChild(el('li', { class: 'vt-console-round', 'data-round-id': r.id }, [
          el('h3', { class: 'h6 mb-1', text: r.title }),
          el('p', { class: 'mb-1' }, [
            el('span', { class: 'badge vt-status vt-status-' + r.status, text: (vm.status || {})[r.status] || r.status }),
            ' ' + ((vm.methods || {})[r.method] || r.method) + ' · ' + (r.secret ? vm.secret : vm.open_ballot) + ' · ' + when
          ]),
          r.status !== 'draft' ? el('p', { class: 'mb-1', 'data-vote-turnout': r.id, text: Votes.turnoutText(vm, r.turnout) }) : null,
          el('div', { class: 'tavoli-actions' }, actions)
        ]));
      });
      if (key) {
        // The button pressed may have become its opposite (open -> close): keep the focus there.
        var id = key.split('-').pop();
        var again = votesList.querySelector('[data-focus-key="' + key + '"]') ||
          votesList.querySelector('[data-focus-key="close-' + id + '"]') ||
          votesList.querySelector('li[data-round-id="' + id + '"] a');
        if (again) { again.focus(); }
      }
      if (change && change.round && (change.kind === 'vote.opened' || change.kind === 'vote.closed')) {
        live.announce(Votes.format(change.kind === 'vote.opened' ? vm.vote_opened : vm.vote_closed,
                                   { title: change.round.title }));
      }
    };

    votes = Votes.tracker(live, { init: init, onUpdate: renderVotes });
    renderVotes(votes.list(), {});
  }
}());
