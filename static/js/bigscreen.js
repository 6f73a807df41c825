/* The big screen: read-only, large type, high contrast. Follows the spotlight and the agenda,
   counts the timer down, shows presence and quorum; changes are announced (aria-live). It joins
   without registering a presence: a projector is not a participant. */
(function () {
  'use strict';

  var root = document.getElementById('live');
  if (!root || !window.TavoliLive) { return; }
  var el = window.TavoliLive.el;
  var screen = root.querySelector('[data-screen]');
  var spotlight = root.querySelector('[data-spotlight]');
  var shownSignature = null;

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

  function render(state) {
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
  }

  var full = root.querySelector('[data-action="fullscreen"]');
  if (full) {
    if (!screen.requestFullscreen) { full.hidden = true; }
    full.addEventListener('click', function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else { screen.requestFullscreen(); }
    });
  }
}());
