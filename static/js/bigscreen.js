/* The big screen of the hall: read-only, large type, high contrast. Follows the agenda and the
   spotlight, counts the timer down, shows presence and quorum; changes are announced (aria-live).
   It joins without registering a presence: a projector is not a participant.

   - The bisogno in evidenza is always shown whole: its text is scaled down a step at a time
     (bs-fit-0 … bs-fit-4, classes only: no style attribute under the CSP) until it fits; if it
     still does not, it scrolls by itself, slowly, pausing at the top and at the bottom (with
     prefers-reduced-motion, a page at a time).
   - With nothing in evidenza, a wall of the latest contributions (bisogni and annotations),
     as many as fit.
   - During a vote: turnout (and the partial results the round allows) as large bars, then the
     results once closed.
   - "Schermo intero" asks the browser; a refusal is said in words (aria-live), never thrown. */
(function () {
  'use strict';

  var root = document.getElementById('live');
  if (!root || !window.TavoliLive) { return; }
  var el = window.TavoliLive.el;
  var screen = root.querySelector('[data-screen]') || root;
  var spotlightBox = root.querySelector('[data-spotlight-box]');
  var viewport = root.querySelector('[data-fit-viewport]');
  var spotlight = root.querySelector('[data-spotlight]');
  var wall = root.querySelector('[data-wall]');
  var wallList = root.querySelector('[data-wall-list]');
  var message = root.querySelector('[data-screen-message]');
  var FIT_STEPS = 5;          // bs-fit-0 (100%) … bs-fit-4 (80%)
  var WALL_MAX = 8;
  var SCROLL_PX_PER_S = 40;   // auto-scroll speed of a text too long to fit
  var SCROLL_PAUSE_MS = 4000; // pause at the top and at the bottom
  var reducedMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  var shownSignature = null;
  var wallSignature = null;
  var votes = null;  // the votazioni tracker (set up below)

  var live = window.TavoliLive.start(root, {
    onChange: render,
    onTick: tick,
    announce: ['spotlight.set', 'agenda.moved', 'seduta.started', 'seduta.closed']
  });

  function say(text) {
    if (!message) { return; }
    message.textContent = '';
    window.setTimeout(function () { message.textContent = text; }, 60);
  }

  function tick(state) {
    var seconds = live.remaining(state);
    var clock = root.querySelector('[data-timer]');
    clock.textContent = seconds == null ? '—' : (seconds > 0 ? live.clock(seconds) : live.t('timer_over'));
    clock.classList.toggle('tavoli-timer-over', seconds === 0);
    root.querySelector('[data-timer-label]').textContent =
      seconds == null || !state.seduta.timer.label ? '' : '· ' + state.seduta.timer.label;
  }

  // --- fitting the bisogno in evidenza: smaller steps, then a slow scroll ------------------------

  var scroller = { timer: null, frame: null };

  function stopScroll() {
    window.clearTimeout(scroller.timer);
    if (scroller.frame) { window.cancelAnimationFrame(scroller.frame); }
    scroller.timer = null;
    scroller.frame = null;
    viewport.scrollTop = 0;
  }

  function startScroll() {
    var last = null;
    function glide(now) {
      var max = viewport.scrollHeight - viewport.clientHeight;
      if (max <= 0) { return; }
      if (last == null) { last = now; }
      viewport.scrollTop = Math.min(max, viewport.scrollTop + (now - last) * SCROLL_PX_PER_S / 1000);
      last = now;
      if (viewport.scrollTop >= max - 0.5) {
        scroller.frame = null;
        scroller.timer = window.setTimeout(function () {
          viewport.scrollTop = 0;
          scroller.timer = window.setTimeout(begin, SCROLL_PAUSE_MS);
        }, SCROLL_PAUSE_MS);
        return;
      }
      scroller.frame = window.requestAnimationFrame(glide);
    }
    function page() {  // reduced motion: a page at a time
      var max = viewport.scrollHeight - viewport.clientHeight;
      viewport.scrollTop = viewport.scrollTop >= max - 0.5 ? 0 : Math.min(max, viewport.scrollTop + viewport.clientHeight * 0.9);
      scroller.timer = window.setTimeout(page, SCROLL_PAUSE_MS * 2);
    }
    function begin() {
      last = null;
      if (reducedMotion) { page(); } else { scroller.frame = window.requestAnimationFrame(glide); }
    }
    scroller.timer = window.setTimeout(begin, SCROLL_PAUSE_MS);
  }

  function overflows() {
    return spotlight.scrollHeight > viewport.clientHeight + 1 || spotlight.scrollWidth > viewport.clientWidth + 1;
  }

  function fit() {
    if (!viewport || spotlightBox.hidden) { return; }
    stopScroll();
    var step = 0;
    for (step = 0; step < FIT_STEPS; step += 1) {
      spotlight.className = 'bs-fit-content bs-fit-' + step;
      if (!overflows()) { break; }
    }
    var scrolling = overflows();
    viewport.classList.toggle('bs-scrolling', scrolling);
    root.setAttribute('data-fit', scrolling ? 'scroll' : String(Math.min(step, FIT_STEPS - 1)));
    if (scrolling) { startScroll(); }
  }

  // --- the bisogno in evidenza ------------------------------------------------------------------

  function renderSpotlight(state) {
    var id = state.seduta ? state.seduta.spotlight_bisogno_id : null;
    var b = id ? state.bisogni[id] : null;
    var annotations = b ? live.annotationsOf(state, b.id).filter(function (a) { return !a.deleted; }) : [];
    spotlightBox.hidden = !b;
    wall.hidden = !!b;
    root.setAttribute('data-showing', b ? 'spotlight' : 'wall');
    var signature = JSON.stringify([b && b.id, b && b.version, annotations.map(function (a) {
      return [a.id, (a.supports || []).length];
    })]);
    if (signature === shownSignature) { return; }
    shownSignature = signature;
    spotlight.textContent = '';
    if (!b) {
      spotlight.appendChild(el('p', { class: 'bs-empty', text: live.t('spotlight_none') }));
      return;
    }
    spotlight.appendChild(el('h3', { class: 'bs-title', text: b.title }));
    live.bisognoBody(b).forEach(function (node) { spotlight.appendChild(node); });
    var n = annotations.length;
    spotlight.appendChild(el('p', { class: 'bs-label bs-annotations-label',
      text: n === 1 ? live.t('annotation_count_one') : live.t('annotation_count_many', { n: n }) }));
    if (n) {
      spotlight.appendChild(el('ul', { class: 'bs-annotations' }, annotations.slice(-4).map(function (a) {
        return el('li', {}, [
          el('span', { class: 'badge tavoli-kind tavoli-kind-' + a.kind, text: live.label('kinds', a.kind) }), ' ',
          el('strong', { text: (a.organisation || a.author || '') + ': ' }),
          el('span', { text: a.body || '' })
        ]);
      })));
    }
    window.requestAnimationFrame(fit);
  }

  // --- the wall of the latest contributions -------------------------------------------------------

  function snippet(text, max) {
    text = String(text || '').replace(/\s+/g, ' ').trim();
    return text.length > max ? text.slice(0, max - 1).replace(/\s+\S*$/, '') + '…' : text;
  }

  function latest(state) {
    var items = [];
    Object.keys(state.bisogni).forEach(function (k) {
      var b = state.bisogni[k];
      items.push({ key: 'b' + b.id, at: b.created_at || '', kind: null, who: b.organisation || b.author || '',
                   title: b.title, text: '' });
    });
    Object.keys(state.annotations).forEach(function (k) {
      var a = state.annotations[k];
      if (a.deleted) { return; }
      var b = state.bisogni[a.bisogno_id];
      items.push({ key: 'a' + a.id, at: a.created_at || '', kind: a.kind, who: a.organisation || a.author || '',
                   title: b ? b.title : '', text: a.body || '' });
    });
    items.sort(function (x, y) { return x.at < y.at ? 1 : (x.at > y.at ? -1 : 0); });
    return items.slice(0, WALL_MAX);
  }

  function renderWall(state) {
    if (wall.hidden) { return; }
    var items = latest(state);
    var signature = JSON.stringify(items.map(function (i) { return i.key; }));
    if (signature === wallSignature) { return; }
    wallSignature = signature;
    wallList.textContent = '';
    if (!items.length) {
      wallList.appendChild(el('li', { class: 'bs-empty', text: live.t('wall_empty') }));
      return;
    }
    items.forEach(function (i) {
      var badge = i.kind
        ? el('span', { class: 'badge tavoli-kind tavoli-kind-' + i.kind, text: live.label('kinds', i.kind) })
        : el('span', { class: 'badge bs-new-bisogno', text: live.t('wall_bisogno') });
      wallList.appendChild(el('li', { class: 'bs-wall-item', 'data-wall-item': i.key }, [
        el('p', { class: 'bs-wall-meta' }, [badge, ' ', el('span', { text: i.who }), ' · ',
                                             el('span', { class: 'bs-wall-time', text: live.time(i.at) })]),
        el('p', { class: 'bs-wall-title', text: i.kind ? snippet(i.text, 220) : i.title }),
        i.kind && i.title ? el('p', { class: 'bs-wall-on', text: '→ ' + i.title }) : null
      ]));
    });
    // As many as fit, newest first: the oldest leave the wall rather than being cut.
    window.requestAnimationFrame(function () {
      while (wallList.children.length > 1 && wallList.scrollHeight > wallList.clientHeight + 1) {
        wallList.removeChild(wallList.lastElementChild);
      }
    });
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
      var q = state.quorum;
      // The count comes with the quorum: the big screen does not ask for the register.
      var n = q ? q.people_present : Object.keys(state.presences).length;
      people.textContent = live.t('people_present', { n: n });
      quorum.textContent = q ? (q.reached ? live.t('quorum_reached') : live.t('quorum_missing')) + ' · ' +
        live.t('quorum_short', { present: q.organisations_present, total: q.organisations_total }) : '';
      quorum.className = 'bs-quorum' + (q && q.reached ? ' bs-ok' : '');
    } else {
      people.textContent = '—';
      quorum.textContent = '';
    }
    renderSpotlight(state);
    renderWall(state);
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
      root.classList.toggle('bs-voting', !!r);
      if (change && change.round && (change.kind === 'vote.opened' || change.kind === 'vote.closed')) {
        live.announce(Votes.format(change.kind === 'vote.opened' ? vm.vote_opened : vm.vote_closed,
                                   { title: change.round.title }));
      }
      if (!r) { voteSignature = null; window.requestAnimationFrame(fit); return; }
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
          tieText: vm.tie, limit: 5,
          caption: Votes.format(vm.chart, { title: closed ? vm.final : vm.partial })
        }));
      } else if (!closed) {
        place.appendChild(el('p', { class: 'bs-empty', text: vm.turnout_only }));
      }
      window.requestAnimationFrame(fit);
    };

    votes = Votes.tracker(live, { init: init, onUpdate: renderVote });
    renderVote(votes.list(), {});
  }

  // --- full screen: asked, never forced; a refusal is said, not thrown ---------------------------

  var full = root.querySelector('[data-action="fullscreen"]');
  if (full) {
    var target = document.documentElement;
    if (!target.requestFullscreen || document.fullscreenEnabled === false) { full.hidden = true; }
    full.addEventListener('click', function () {
      var request;
      try {
        request = document.fullscreenElement ? document.exitFullscreen() : target.requestFullscreen();
      } catch (e) {
        request = Promise.reject(e);
      }
      if (request && typeof request.catch === 'function') {
        request.catch(function () { say(live.t('fullscreen_refused')); });
      }
    });
    document.addEventListener('fullscreenchange', function () {
      root.classList.toggle('bs-fullscreen', !!document.fullscreenElement);
      window.requestAnimationFrame(fit);
    });
  }

  var resizeTimer = null;
  window.addEventListener('resize', function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () { wallSignature = null; fit(); if (live.state) { renderWall(live.state); } }, 150);
  });
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(function () { fit(); }); }
}());
