/* Tavoli — the live client shared by the participant view, the facilitator's console and the big
   screen. Vanilla JavaScript, no build step; load /static/vendor/socket.io/socket.io.min.js first.

   Protocol (docs/live-protocol.md, workspace/realtime.py):
   - connect to the namespace /live with the login cookie and auth {csrf_token};
   - `join` {tavolo_id, last_seq?, mode?|presence:false, register?} answers a replay of the missed
     events or a snapshot (with the people present only when `register` is asked); the state and its last_seq are kept in sessionStorage, so a reload replays only
     what changed;
   - pushed `event` messages are applied in seq order: seq <= last_seq is ignored, a gap asks for
     `resync`, events arriving before the join's answer wait in a buffer;
   - writes are operations with an op_id: stored in a localStorage OUTBOX, emitted with an ack
     callback and sent again (after a timeout and on every reconnection) until acknowledged. The
     server applies an op_id once, so what was typed offline is recorded exactly once.

   Every string comes translated from the page (data-i18n); all text is inserted with
   textContent. The only HTML inserted is the server-sanitised description_html / body_html. */
(function () {
  'use strict';

  var NAMESPACE = '/live';
  var ACK_TIMEOUT_MS = 8000;   // an unacknowledged operation is sent again after this long
  var FLUSH_EVERY_MS = 4000;   // how often the outbox is looked at
  var JOIN_TIMEOUT_MS = 15000;
  var OP_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;

  // --- small helpers ---------------------------------------------------------------------------

  function parseJSON(text, fallback) {
    if (!text) { return fallback; }
    try { return JSON.parse(text); } catch (e) { return fallback; }
  }

  function format(template, params) {
    return String(template == null ? '' : template)
      .replace(/%\((\w+)\)s/g, function (_m, key) {
        return params && params[key] != null ? String(params[key]) : '';
      })
      .replace(/%%/g, '%');
  }

  /* el('p', {class: 'x', text: 'hello', 'data-id': 3}, [child, 'text']) — text via textContent;
     `html` only for server-sanitised HTML. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value == null || value === false) { return; }
      if (key === 'text') { node.textContent = value; }
      else if (key === 'html') { node.innerHTML = value; }
      else if (key === 'class') { node.className = value; }
      else if (key.indexOf('on') === 0 && typeof value === 'function') {
        node.addEventListener(key.slice(2), value);
      } else if (value === true) { node.setAttribute(key, ''); }
      else { node.setAttribute(key, String(value)); }
    });
    (children || []).forEach(function (child) {
      if (child == null || child === false) { return; }
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function newOpId() {
    var id = '';
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      id = window.crypto.randomUUID().replace(/-/g, '');
    } else if (window.crypto && window.crypto.getRandomValues) {
      var bytes = new Uint32Array(4);
      window.crypto.getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (n) { return n.toString(36); }).join('');
    }
    if (!OP_ID_RE.test(id)) {
      id = Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
    }
    return id.slice(0, 64);
  }

  function storageGet(store, key) {
    try { return store.getItem(key); } catch (e) { return null; }
  }

  function storageSet(store, key, value) {
    try { store.setItem(key, value); return true; } catch (e) { return false; }
  }

  function byId(map) {
    return Object.keys(map).map(function (k) { return map[k]; });
  }

  // --- the state of a tavolo, rebuilt from a snapshot and the events ---------------------------

  function emptyState() {
    return { tavolo: null, seduta: null, presences: {}, quorum: null, bisogni: {}, annotations: {},
             lastClosed: null };
  }

  function stateFromSnapshot(snapshot) {
    var state = emptyState();
    snapshot = snapshot || {};
    state.tavolo = snapshot.tavolo || null;
    state.seduta = snapshot.seduta || null;
    state.quorum = snapshot.quorum || null;
    (snapshot.presences || []).forEach(function (p) { state.presences[p.user_id] = p; });
    (snapshot.bisogni || []).forEach(function (b) { state.bisogni[b.id] = b; });
    (snapshot.annotations || []).forEach(function (a) { state.annotations[a.id] = a; });
    // A snapshot is bounded (the latest bisogni and annotations): what it left out is fetched a page
    // at a time with `page`; `paging` remembers where each list stands (0: from the newest).
    state.paging = {};
    ['bisogni', 'annotations'].forEach(function (of) {
      var info = snapshot.paged && snapshot.paged[of];
      if (info && info.total > info.included) { state.paging[of] = 0; }
    });
    return state;
  }

  function isLive(state, sedutaId) {
    return !!(state.seduta && state.seduta.id === sedutaId);
  }

  function applyEvent(state, event) {
    var p = event.payload || {};
    switch (event.kind) {
      case 'seduta.started':
        state.seduta = p;
        state.presences = {};
        state.quorum = p.quorum || null;
        break;
      case 'seduta.closed':
        if (state.seduta && state.seduta.id === p.id) {
          state.seduta = null;
          state.presences = {};
          state.quorum = null;
        }
        state.lastClosed = p;
        break;
      case 'agenda.moved':
        if (isLive(state, p.seduta_id)) { state.seduta.current_item_id = p.current_item_id; }
        break;
      case 'timer.set':
        if (isLive(state, p.seduta_id)) { state.seduta.timer = { ends_at: p.ends_at, label: p.label }; }
        break;
      case 'spotlight.set':
        if (isLive(state, p.seduta_id)) { state.seduta.spotlight_bisogno_id = p.bisogno_id; }
        break;
      case 'presence.joined':
        if (isLive(state, p.seduta_id)) { state.presences[p.user_id] = p; state.quorum = p.quorum; }
        break;
      case 'presence.left':
        if (isLive(state, p.seduta_id)) { delete state.presences[p.user_id]; state.quorum = p.quorum; }
        break;
      case 'presence.marked':
        if (isLive(state, p.seduta_id)) {
          if (p.present && p.presence) { state.presences[p.user_id] = p.presence; }
          else { delete state.presences[p.user_id]; }
          state.quorum = p.quorum;
        }
        break;
      case 'bisogno.created':
      case 'bisogno.updated':
      case 'bisogno.status':
      case 'bisogno.merged':
        state.bisogni[p.id] = p;
        break;
      case 'annotation.created':
      case 'annotation.deleted':
      case 'annotation.supported':
        state.annotations[p.id] = p;
        break;
      case 'member.added':
      case 'member.removed':
        if (isLive(state, p.seduta_id)) { state.quorum = p.quorum; }
        break;
      case 'role.removed':
        // A person who no longer takes part leaves the live seduta's register with their role.
        if (isLive(state, p.seduta_id)) { delete state.presences[p.user_id]; state.quorum = p.quorum; }
        break;
      default:
        break;  // seduta.convened, role.set and kinds this page does not show
    }
  }

  // --- the client ------------------------------------------------------------------------------

  function Live(root, options) {
    this.root = root;
    this.options = options || {};
    this.tavoloId = parseInt(root.getAttribute('data-tavolo-id'), 10);
    this.userId = root.getAttribute('data-user-id') || '0';
    this.csrf = root.getAttribute('data-csrf') || '';
    this.messages = parseJSON(root.getAttribute('data-i18n'), {}) || {};
    this.presence = root.getAttribute('data-presence') !== 'false';
    // Only a screen that shows who is present asks for the register (the console): the others get the
    // counts in the quorum, and a plenary's join stays small.
    this.register = !!this.options.register;
    this.mode = this.options.mode || 'remoto';
    var serverNow = Date.parse(root.getAttribute('data-server-now') || '');
    this.clockOffset = isNaN(serverNow) ? 0 : serverNow - Date.now();

    this.stateKey = 'tavoli.live.' + this.userId + '.' + this.tavoloId;
    this.outboxKey = 'tavoli.outbox.' + this.userId + '.' + this.tavoloId;
    this.state = null;
    this.lastSeq = null;
    this.joined = false;
    this.joining = false;
    this.buffer = [];
    this.resyncing = false;
    this.resyncTimer = null;
    this.gapRetries = 0;
    this.inFlight = {};
    this.announceQueue = [];
    this.saveTimer = null;
    this.status = null;

    var saved = parseJSON(storageGet(window.sessionStorage, this.stateKey), null);
    if (saved && saved.state && typeof saved.last_seq === 'number') {
      this.state = saved.state;
      this.lastSeq = saved.last_seq;
    }
  }

  Live.prototype.t = function (key, params) {
    var text = this.messages[key];
    return format(text == null ? key : text, params);
  };

  Live.prototype.label = function (group, key) {
    var labels = this.messages[group] || {};
    return labels[key] || key || '';
  };

  Live.prototype.now = function () { return Date.now() + this.clockOffset; };

  Live.prototype.find = function (selector) { return this.root.querySelector(selector); };

  Live.prototype.findAll = function (selector) {
    return Array.prototype.slice.call(this.root.querySelectorAll(selector));
  };

  // --- connection --------------------------------------------------------------------------------

  Live.prototype.start = function () {
    var self = this;
    if (typeof window.io !== 'function') {
      this.setStatus('refused');
      return this;
    }
    this.setStatus('connecting');
    // WebSocket first: one connection instead of the long-polling handshake, its POST and its upgrade
    // (a seduta starting is hundreds of people connecting at once), and no sticky routing needed
    // behind several processes. Where a proxy blocks WebSocket, long-polling is tried next.
    var socket = window.io(NAMESPACE, { auth: { csrf_token: this.csrf }, transports: ['websocket', 'polling'],
                                        tryAllTransports: true });
    this.socket = socket;

    // "Connesso" only once the tavolo is joined: from then on every change reaches this page.
    socket.on('connect', function () { self.join(); });
    socket.on('disconnect', function (reason) {
      self.joined = false;
      self.joining = false;
      self.inFlight = {};
      self.setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
      if (reason === 'io server disconnect') { socket.connect(); }
    });
    socket.on('connect_error', function () {
      // Refused by the server (session expired, CSRF): Socket.IO does not retry by itself.
      if (!socket.active) { self.setStatus('refused'); return; }
      self.setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
    });
    socket.io.on('reconnect_attempt', function (attempt) {
      if (attempt >= 2 || navigator.onLine === false) { self.setStatus('offline'); }
    });
    socket.on('event', function (message) { self.receive(message); });
    // Consecutive events committed together (the presences of many joins): one message, applied in order.
    socket.on('events', function (batch) {
      if (!batch || !Array.isArray(batch.events)) { return; }
      batch.events.forEach(function (message) {
        message.tavolo_id = batch.tavolo_id;
        self.receive(message);
      });
    });

    window.addEventListener('offline', function () { self.setStatus('offline'); });
    window.addEventListener('online', function () {
      if (!socket.connected) { self.setStatus('reconnecting'); socket.connect(); }
    });
    window.addEventListener('storage', function (e) {
      if (e.key === self.outboxKey) { self.showOutbox(); }
    });
    window.setInterval(function () { self.flush(); }, FLUSH_EVERY_MS);
    window.setInterval(function () {
      if (self.options.onTick) { self.options.onTick(self.state || emptyState(), self); }
    }, 1000);

    this.showOutbox();
    if (this.state) {  // what this tab saw before a reload, shown at once, updated by the join
      window.setTimeout(function () { self.notify({ reset: true, restored: true }); }, 0);
    }
    return this;
  };

  Live.prototype.setStatus = function (status) {
    if (this.status === 'refused' && (status !== 'connected' || this.removed)) { return; }
    var previous = this.status;
    this.status = status;
    var node = this.find('[data-live-status]');
    if (node) {
      node.textContent = this.t(status);
      node.className = 'badge tavoli-conn tavoli-conn-' + status;
    }
    this.root.setAttribute('data-connection', status);
    if (status === 'refused') { this.showError(null, this.t('refused')); }
    if (status === 'offline' && previous !== 'offline') { this.announce(this.t('offline')); }
    this.showOutbox();
  };

  Live.prototype.joinPayload = function () {
    var data = { tavolo_id: this.tavoloId };
    if (this.state && this.lastSeq != null) { data.last_seq = this.lastSeq; }
    if (this.presence) { data.mode = this.mode; } else { data.presence = false; }
    if (this.register) { data.register = true; }
    return data;
  };

  Live.prototype.join = function () {
    var self = this;
    var socket = this.socket;
    if (!socket || !socket.connected) { return; }
    this.joined = false;
    this.joining = true;
    socket.timeout(JOIN_TIMEOUT_MS).emit('join', this.joinPayload(), function (err, reply) {
      self.joining = false;
      if (err) {
        if (socket.connected) { self.join(); }
        return;
      }
      if (!reply || reply.error) {
        self.showError(null, (reply && reply.message) || self.t('refused'));
        self.setStatus('refused');
        return;
      }
      self.sync(reply);
      self.joined = true;
      self.setStatus('connected');
      self.drain();
      self.flush();
    });
  };

  /* A new presence mode (in the room / remote): leave and join again, so the register shows it. */
  Live.prototype.setMode = function (mode) {
    var self = this;
    if (mode === this.mode) { return; }
    this.mode = mode;
    if (!this.presence || !this.socket || !this.socket.connected || !this.state || !this.state.seduta) { return; }
    this.socket.timeout(JOIN_TIMEOUT_MS).emit('leave', { tavolo_id: this.tavoloId }, function () { self.join(); });
  };

  // --- events in order ------------------------------------------------------------------------

  Live.prototype.sync = function (reply) {
    if (reply.mode === 'snapshot') {
      this.state = stateFromSnapshot(reply.snapshot);
      // The contributions made since the snapshot's content was built: applied in order, they bring
      // it to last_seq (docs/live-protocol.md §3).
      var state = this.state;
      (reply.events || []).forEach(function (event) { applyEvent(state, event); });
      this.lastSeq = reply.last_seq;
      this.generation = (this.generation || 0) + 1;
      this.paging = {};
      this.save();
      this.notify({ reset: true });
      this.fetchRest();
      return;
    }
    this.fetchRest();  // a reload in the middle of paging goes on where it stopped
    var self = this;
    if (!this.state) { this.state = emptyState(); }
    var applied = [];
    (reply.events || []).forEach(function (event) {
      if (event.seq <= self.lastSeq) { return; }
      applyEvent(self.state, event);
      self.lastSeq = event.seq;
      applied.push(event);
    });
    if (typeof reply.last_seq === 'number' && reply.last_seq > this.lastSeq) { this.lastSeq = reply.last_seq; }
    this.save();
    this.notify({ reset: true, replayed: applied });
  };

  /* The rest of a bounded snapshot, newest first, one page at a time per list. A page only fills in
     what the state lacks: an object it already has came from the snapshot or a later event, so it
     is at least as new as the page's copy (docs/live-protocol.md, `page`). */
  Live.prototype.fetchRest = function () {
    var self = this;
    if (!this.state || !this.state.paging) { return; }
    this.paging = this.paging || {};
    Object.keys(this.state.paging).forEach(function (of) {
      if (!self.paging[of]) { self.fetchPage(of); }
    });
  };

  Live.prototype.fetchPage = function (of) {
    var self = this;
    var socket = this.socket;
    var generation = this.generation;
    if (!socket || !socket.connected || !this.state || !this.state.paging || !(of in this.state.paging)) { return; }
    var data = { tavolo_id: this.tavoloId, of: of };
    if (this.state.paging[of]) { data.before_id = this.state.paging[of]; }
    this.paging[of] = true;
    socket.timeout(JOIN_TIMEOUT_MS).emit('page', data, function (err, reply) {
      self.paging[of] = false;
      if (generation !== self.generation || !self.state || !self.state.paging) { return; }
      if (err || !reply || !reply.ok) { return; }  // tried again at the next join or resync
      var into = self.state[of];
      var added = 0;
      (reply.result.items || []).forEach(function (item) {
        if (!into[item.id]) { into[item.id] = item; added += 1; }
      });
      if (reply.result.next_before_id) {
        self.state.paging[of] = reply.result.next_before_id;
      } else {
        delete self.state.paging[of];
      }
      self.save();
      if (added) { self.notify({ reset: true, paged: of }); }
      if (of in self.state.paging) { self.fetchPage(of); }
    });
  };

  Live.prototype.receive = function (message) {
    if (!message || message.tavolo_id !== this.tavoloId || typeof message.seq !== 'number') { return; }
    if (!this.joined) { this.buffer.push(message); return; }
    if (message.seq <= this.lastSeq) { return; }
    if (message.seq === this.lastSeq + 1) {
      this.applyLive(message);
      this.drain();
      return;
    }
    this.buffer.push(message);
    this.resync();
  };

  Live.prototype.drain = function () {
    this.buffer.sort(function (a, b) { return a.seq - b.seq; });
    while (this.buffer.length) {
      var next = this.buffer[0];
      if (next.seq <= this.lastSeq) { this.buffer.shift(); continue; }
      if (next.seq === this.lastSeq + 1) { this.buffer.shift(); this.applyLive(next); continue; }
      this.resync();  // a gap: ask for what is missing
      return;
    }
    this.gapRetries = 0;
  };

  Live.prototype.resync = function () {
    var self = this;
    if (this.resyncing || this.resyncTimer || !this.socket || !this.socket.connected) { return; }
    this.resyncing = true;
    var ask = { tavolo_id: this.tavoloId, last_seq: this.lastSeq };
    if (this.register) { ask.register = true; }
    this.socket.timeout(JOIN_TIMEOUT_MS).emit('resync', ask,
      function (err, reply) {
        self.resyncing = false;
        if (err || !reply || reply.error) {
          self.resyncLater();
          return;
        }
        self.sync(reply);
        var first = self.buffer.length ? Math.min.apply(null, self.buffer.map(function (m) { return m.seq; })) : null;
        if (first !== null && first > self.lastSeq + 1) {
          // The server's answer does not reach the buffered events yet: try again a little later,
          // and after a few tries trust the server (events it does not know are dropped).
          self.gapRetries = (self.gapRetries || 0) + 1;
          if (self.gapRetries > 3) { self.buffer = []; self.gapRetries = 0; return; }
          self.resyncLater();
          return;
        }
        self.drain();
      });
  };

  Live.prototype.resyncLater = function () {
    var self = this;
    if (this.resyncTimer) { return; }
    this.resyncTimer = window.setTimeout(function () {
      self.resyncTimer = null;
      self.resync();
    }, 1500);
  };

  Live.prototype.applyLive = function (event) {
    if (!this.state) { this.state = emptyState(); }
    var before = this.state.seduta ? this.state.seduta.spotlight_bisogno_id : null;
    applyEvent(this.state, event);
    this.lastSeq = event.seq;
    this.save();
    this.notify({ event: event, spotlightBefore: before });
    this.announceEvent(event);
    if (event.kind === 'role.set' || event.kind === 'role.removed') { this.roleChanged(event); }
    // People already on the page when the seduta starts are present too: join again so the
    // server records the presence (the answer is a replay of what we already have).
    if (event.kind === 'seduta.started' && this.presence) { this.join(); }
  };

  /* The page was built for this person's role: when it changes, say so and offer to reload (what
     is being typed stays until they choose); when it is removed, the server refuses them from now
     on, so the page reloads at once and shows why. */
  Live.prototype.roleChanged = function (event) {
    var p = event.payload || {};
    if (String(p.user_id) !== String(this.userId)) { return; }
    var node = this.find('[data-live-errors]');
    if (event.kind === 'role.removed') {
      this.removed = true;
      this.setStatus('refused');
      if (node) { node.textContent = ''; node.appendChild(el('p', { class: 'tavoli-error-text mb-0', text: this.t('my_role_removed') })); }
      try { window.sessionStorage.removeItem(this.stateKey); } catch (e) { /* nothing to do */ }
      if (this.socket) { this.socket.disconnect(); }
      window.setTimeout(function () { window.location.reload(); }, 3000);
      return;
    }
    if (!node) { return; }
    node.textContent = '';
    node.appendChild(el('p', { class: 'tavoli-error-text mb-2', text: this.t('my_role_set', { role: this.label('roles', p.role) }) }));
    node.appendChild(el('button', { type: 'button', class: 'btn btn-primary btn-sm', 'data-action': 'reload',
                                    onclick: function () { window.location.reload(); } }, [this.t('reload')]));
  };

  Live.prototype.notify = function (info) {
    if (this.options.onChange && this.state) { this.options.onChange(this.state, info || {}, this); }
  };

  Live.prototype.save = function () {
    var self = this;
    if (this.saveTimer) { return; }
    this.saveTimer = window.setTimeout(function () {
      self.saveTimer = null;
      var ok = storageSet(window.sessionStorage, self.stateKey,
                          JSON.stringify({ last_seq: self.lastSeq, state: self.state }));
      if (!ok) {  // too big for sessionStorage: the next visit starts from a snapshot
        try { window.sessionStorage.removeItem(self.stateKey); } catch (e) { /* nothing to do */ }
      }
    }, 250);
  };

  // --- announcements (aria-live="polite") ----------------------------------------------------

  Live.prototype.announce = function (text) {
    var self = this;
    if (!text) { return; }
    this.announceQueue.push(text);
    if (this.announceTimer) { return; }
    this.announceTimer = window.setTimeout(function () {
      self.announceTimer = null;
      var node = self.find('[data-live-announcer]');
      var message = self.announceQueue.join(' ');
      self.announceQueue = [];
      if (!node) { return; }
      node.textContent = '';
      window.setTimeout(function () { node.textContent = message; }, 60);
    }, 150);
  };

  Live.prototype.bisognoTitle = function (id) {
    var b = this.state && this.state.bisogni[id];
    return b ? b.title : '';
  };

  Live.prototype.agendaTitle = function (itemId) {
    var seduta = this.state && this.state.seduta;
    var items = (seduta && seduta.agenda) || [];
    for (var i = 0; i < items.length; i += 1) {
      if (items[i].id === itemId) { return items[i].title; }
    }
    return '';
  };

  Live.prototype.describeEvent = function (event) {
    var p = event.payload || {};
    switch (event.kind) {
      case 'bisogno.created':
        return p.organisation ? this.t('new_bisogno_org', { title: p.title, org: p.organisation })
          : this.t('new_bisogno', { title: p.title });
      case 'annotation.created':
        return this.t('new_annotation', { title: this.bisognoTitle(p.bisogno_id),
                                          kind: this.label('kinds', p.kind), org: p.organisation || p.author || '' });
      case 'agenda.moved':
        return this.t('agenda_now', { title: this.agendaTitle(p.current_item_id) });
      case 'spotlight.set':
        return p.bisogno_id ? this.t('spotlight_now', { title: this.bisognoTitle(p.bisogno_id) })
          : this.t('spotlight_none');
      case 'role.set': return this.t('role_set', { name: p.name, role: this.label('roles', p.role) });
      case 'role.removed': return this.t('role_removed', { name: p.name });
      case 'member.added': return this.t('member_added', { org: p.organisation });
      case 'member.removed': return this.t('member_removed', { org: p.organisation });
      case 'seduta.started': return this.t('seduta_started');
      case 'seduta.closed': return this.t('seduta_closed');
      case 'timer.set':
        if (!p.ends_at) { return this.t('timer_stopped'); }
        return this.t('timer_started', { minutes: Math.round((Date.parse(p.ends_at) - this.now()) / 60000) });
      default: return null;
    }
  };

  Live.prototype.announceEvent = function (event) {
    var kinds = this.options.announce;
    if (kinds && kinds.indexOf(event.kind) < 0) { return; }
    this.announce(this.describeEvent(event));
  };

  // --- the outbox -------------------------------------------------------------------------------

  Live.prototype.outbox = function () {
    var list = parseJSON(storageGet(window.localStorage, this.outboxKey), []);
    return Array.isArray(list) ? list : [];
  };

  Live.prototype.writeOutbox = function (list) {
    if (list.length) { storageSet(window.localStorage, this.outboxKey, JSON.stringify(list)); }
    else { try { window.localStorage.removeItem(this.outboxKey); } catch (e) { /* ignore */ } }
  };

  /* Queue a write. `target` names the form whose error/status places show the outcome;
     `restore` is kept with the operation so a refused text can be given back to its author. */
  Live.prototype.send = function (name, data, opts) {
    opts = opts || {};
    var opId = newOpId();
    var payload = Object.assign({}, data, { op_id: opId, tavolo_id: this.tavoloId });
    var entry = { op_id: opId, name: name, data: payload, target: opts.target || null,
                  restore: opts.restore || null, at: Date.now() };
    var list = this.outbox();
    list.push(entry);
    this.writeOutbox(list);
    this.clearError(entry.target);
    if (!(this.socket && this.socket.connected && this.joined)) {
      this.showStatusFor(entry.target, this.t('queued'));
    }
    this.showOutbox();
    this.flush();
    return entry;
  };

  /* Operations go one at a time, in the order they were made (a support given then withdrawn
     must arrive in that order); one without an answer is sent again after ACK_TIMEOUT_MS. */
  Live.prototype.flush = function () {
    var self = this;
    var socket = this.socket;
    if (!socket || !socket.connected || !this.joined) { return; }
    var entry = this.outbox()[0];
    if (!entry) { return; }
    var sentAt = this.inFlight[entry.op_id];
    if (sentAt && Date.now() - sentAt < ACK_TIMEOUT_MS) { return; }
    this.inFlight[entry.op_id] = Date.now();
    socket.timeout(ACK_TIMEOUT_MS).emit(entry.name, entry.data, function (err, ack) {
      if (err) { delete self.inFlight[entry.op_id]; return; }  // sent again by the next flush
      self.settle(entry, ack);
      self.flush();
    });
  };

  Live.prototype.settle = function (entry, ack) {
    delete this.inFlight[entry.op_id];
    var list = this.outbox();
    var still = list.filter(function (e) { return e.op_id !== entry.op_id; });
    var wasPending = still.length !== list.length;
    this.writeOutbox(still);
    this.showOutbox();
    if (!wasPending) { return; }  // another tab of ours already settled it
    if (ack && ack.ok) {
      this.showStatusFor(entry.target, this.t('sent'));
      if (this.options.onAck) { this.options.onAck(entry, ack, this); }
    } else {
      var message = (ack && ack.message) || this.t('refused');
      this.showStatusFor(entry.target, '');
      this.showError(entry.target, this.t('error_prefix') + ' ' + message);
      if (this.options.onOpError) { this.options.onOpError(entry, ack || {}, this); }
    }
  };

  Live.prototype.showOutbox = function () {
    var node = this.find('[data-outbox-count]');
    if (!node) { return; }
    var n = this.outbox().length;
    node.hidden = n === 0;
    node.textContent = n === 1 ? this.t('pending_one') : this.t('pending_many', { n: n });
  };

  Live.prototype.errorPlace = function (target) {
    var node = target ? this.find('[data-error-for="' + target + '"]') : null;
    return node || this.find('[data-live-errors]');
  };

  Live.prototype.showError = function (target, message) {
    var node = this.errorPlace(target);
    if (!node) { return; }
    node.textContent = '';
    node.appendChild(el('p', { class: 'tavoli-error-text mb-0', text: message }));
  };

  Live.prototype.clearError = function (target) {
    var node = this.errorPlace(target);
    if (node) { node.textContent = ''; }
  };

  Live.prototype.showStatusFor = function (target, text) {
    var node = target ? this.find('[data-status-for="' + target + '"]') : null;
    if (!node) { return; }
    node.textContent = text || '';
    window.clearTimeout(node.tavoliTimer);
    if (text && text === this.t('sent')) {
      node.tavoliTimer = window.setTimeout(function () {
        if (node.textContent === text) { node.textContent = ''; }
      }, 6000);
    }
  };

  // --- shared rendering ----------------------------------------------------------------------

  Live.prototype.time = function (iso) {
    if (!iso) { return ''; }
    var date = new Date(iso);
    if (isNaN(date.getTime())) { return ''; }
    return date.toLocaleTimeString(document.documentElement.lang || 'it', {
      hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Rome'
    });
  };

  /* Seconds left on the seduta's timer (null when none is running). */
  Live.prototype.remaining = function (state) {
    var timer = state && state.seduta && state.seduta.timer;
    if (!timer || !timer.ends_at) { return null; }
    return Math.max(0, Math.round((Date.parse(timer.ends_at) - this.now()) / 1000));
  };

  Live.prototype.clock = function (seconds) {
    if (seconds == null) { return '—'; }
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return (m < 10 ? '0' : '') + m + ':' + (s < 10 ? '0' : '') + s;
  };

  Live.prototype.bisogniList = function (state) {
    return byId(state.bisogni).sort(function (a, b) { return b.id - a.id; });
  };

  Live.prototype.annotationsOf = function (state, bisognoId) {
    return byId(state.annotations).filter(function (a) { return a.bisogno_id === bisognoId; })
      .sort(function (a, b) { return a.id - b.id; });
  };

  /* Keep focus on the "same" control across a re-render: controls carry data-focus-key. */
  function keepFocus(container, render) {
    var active = document.activeElement;
    var key = active && container.contains(active) ? active.getAttribute('data-focus-key') : null;
    render();
    if (key) {
      var again = container.querySelector('[data-focus-key="' + key + '"]');
      if (again && again !== document.activeElement) { again.focus(); }
    }
  }

  Live.prototype.annotationItem = function (a, byParent, opts, depth) {
    var self = this;
    var who = [a.organisation, a.author].filter(Boolean).join(' · ');
    var children = [
      el('p', { class: 'tavoli-annotation-meta mb-1' }, [
        el('span', { class: 'badge tavoli-kind tavoli-kind-' + a.kind, text: this.label('kinds', a.kind) }),
        ' ',
        el('span', { class: 'tavoli-annotation-who', text: who }),
        ' ',
        el('span', { class: 'tavoli-muted', text: this.time(a.created_at) })
      ])
    ];
    if (a.deleted) {
      children.push(el('p', { class: 'tavoli-muted fst-italic mb-1',
                              text: a.moderated ? this.t('moderated', { reason: a.moderation_reason || '' }) : this.t('deleted') }));
    } else {
      children.push(el('div', { class: 'tavoli-annotation-body', html: a.body_html || '' }));
    }
    if (a.supports && a.supports.length) {
      children.push(el('p', { class: 'tavoli-supports mb-1', text: this.t('supported_by', { orgs: a.supports.join(', ') }) }));
    }
    if (opts.annotationActions && !a.deleted) {
      var actions = opts.annotationActions(a);
      if (actions) { children.push(el('div', { class: 'tavoli-annotation-actions' }, actions)); }
    }
    var replies = byParent[a.id] || [];
    if (replies.length) {
      children.push(el('ul', { class: 'tavoli-replies' }, replies.map(function (r) {
        return self.annotationItem(r, byParent, opts, depth + 1);
      })));
    }
    return el('li', { class: 'tavoli-annotation', id: 'annotazione-' + a.id }, children);
  };

  Live.prototype.annotationsBlock = function (b, annotations, opts) {
    var self = this;
    var ids = {};
    annotations.forEach(function (a) { ids[a.id] = true; });
    var byParent = {};
    var top = [];
    annotations.forEach(function (a) {
      if (a.parent_id && ids[a.parent_id]) { (byParent[a.parent_id] = byParent[a.parent_id] || []).push(a); }
      else { top.push(a); }
    });
    var n = annotations.length;
    var heading = el('h4', { class: 'h6 tavoli-annotations-title',
                             text: n === 1 ? this.t('annotation_count_one') : this.t('annotation_count_many', { n: n }) });
    if (!n) {
      return [heading, el('p', { class: 'tavoli-muted mb-0', text: this.t('no_annotations') })];
    }
    return [heading, el('ul', { class: 'tavoli-annotations' }, top.map(function (a) {
      return self.annotationItem(a, byParent, opts, 0);
    }))];
  };

  Live.prototype.bisognoBody = function (b) {
    var parts = [];
    var merged = b.merged_into && this.state.bisogni[b.merged_into];
    var meta = el('p', { class: 'tavoli-bisogno-meta mb-2' }, [
      el('span', { class: 'badge tavoli-macroarea', text: b.macroarea }), ' ',
      el('span', { class: 'badge tavoli-consolidation', text: this.label('consolidation', b.consolidation) }), ' ',
      b.status !== 'proposto' ? el('span', { class: 'badge tavoli-status tavoli-status-' + b.status,
                                             text: this.label('bisogno_status', b.status) }) : null,
      b.status !== 'proposto' ? ' ' : null,
      el('span', { class: 'tavoli-bisogno-who',
                   text: this.t('by_org', { who: b.organisation || b.author || '' }) })
    ]);
    parts.push(meta);
    if (merged) { parts.push(el('p', { class: 'mb-2', text: this.t('merged_into', { title: merged.title }) })); }
    if (b.description_html) { parts.push(el('div', { class: 'tavoli-bisogno-description', html: b.description_html })); }
    var facts = [];
    var evidence = b.evidence || {};
    if (b.target_population) { facts.push(this.t('target', { target: b.target_population })); }
    if (evidence.figure) { facts.push(this.t('evidence', { figure: evidence.figure })); }
    if (evidence.source) { facts.push(this.t('evidence_source', { source: evidence.source })); }
    if (evidence.year) { facts.push(this.t('evidence_year', { year: evidence.year })); }
    if (facts.length) {
      parts.push(el('ul', { class: 'tavoli-facts' }, facts.map(function (f) { return el('li', { text: f }); })));
    }
    var keyPoints = (b.key_points || []).map(function (k) { return k && k.text; }).filter(Boolean);
    if (keyPoints.length) {
      parts.push(el('p', { class: 'tavoli-muted small mb-1', text: this.t('key_points') + ': ' + keyPoints.join('; ') }));
    }
    return parts;
  };

  /* Render the bisogni into `container`, keyed by id, newest first. Cards are updated in place
     (only when something they show changed) so forms inside them keep what is being typed.
     opts: actions(b) -> nodes, annotationActions(a) -> nodes, extra(b) -> node created once,
           update(b, card, annotations), sig(b) -> string, emptyText. */
  Live.prototype.renderBisogni = function (container, state, opts) {
    var self = this;
    opts = opts || {};
    var list = this.bisogniList(state);
    var empty = container.querySelector('[data-empty]');
    if (!list.length) {
      if (!empty) { container.appendChild(el('p', { 'data-empty': true, class: 'tavoli-muted', text: opts.emptyText || this.t('no_bisogni') })); }
      return;
    }
    if (empty) { empty.remove(); }
    var wanted = {};
    list.forEach(function (b, index) {
      wanted[b.id] = true;
      var card = container.querySelector('[data-bisogno-id="' + b.id + '"]');
      if (!card) {
        card = el('article', { class: 'tavoli-bisogno', id: 'bisogno-' + b.id, 'data-bisogno-id': b.id,
                               'aria-labelledby': 'bisogno-' + b.id + '-titolo', tabindex: '-1' }, [
          el('h3', { class: 'h5 tavoli-bisogno-title', id: 'bisogno-' + b.id + '-titolo' }),
          el('div', { 'data-part': 'body' }),
          el('div', { class: 'tavoli-bisogno-actions', 'data-part': 'actions' }),
          el('section', { class: 'tavoli-annotations-block', 'data-part': 'annotations',
                          'aria-label': self.t('annotations') + ': ' + b.title }),
          el('div', { 'data-part': 'extra' })
        ]);
        if (opts.extra) {
          var extra = opts.extra(b);
          if (extra) { card.querySelector('[data-part="extra"]').appendChild(extra); }
        }
      }
      var position = container.children[index];
      if (position !== card) { container.insertBefore(card, position || null); }
      var annotations = self.annotationsOf(state, b.id);
      var sig = JSON.stringify([b.version, b.status, b.merged_into, annotations.map(function (a) {
        return [a.id, a.deleted, (a.supports || []).join('|')];
      }), opts.sig ? opts.sig(b) : '']);
      if (card.getAttribute('data-sig') === sig) { return; }
      card.setAttribute('data-sig', sig);
      keepFocus(card, function () {
        card.querySelector('.tavoli-bisogno-title').textContent = b.title;
        card.querySelector('[data-part="annotations"]').setAttribute('aria-label', self.t('annotations') + ': ' + b.title);
        var body = card.querySelector('[data-part="body"]');
        body.textContent = '';
        self.bisognoBody(b).forEach(function (n) { body.appendChild(n); });
        var actions = card.querySelector('[data-part="actions"]');
        actions.textContent = '';
        (opts.actions ? opts.actions(b) || [] : []).forEach(function (n) { actions.appendChild(n); });
        actions.hidden = !actions.childNodes.length;
        var block = card.querySelector('[data-part="annotations"]');
        block.textContent = '';
        self.annotationsBlock(b, annotations, opts).forEach(function (n) { block.appendChild(n); });
        if (opts.update) { opts.update(b, card, annotations); }
      });
    });
    Array.prototype.slice.call(container.querySelectorAll('[data-bisogno-id]')).forEach(function (card) {
      if (!wanted[card.getAttribute('data-bisogno-id')]) { card.remove(); }
    });
  };

  // --- public API ------------------------------------------------------------------------------

  window.TavoliLive = {
    instances: [],  // the pages' clients, for debugging from the browser console and for tests
    start: function (root, options) {
      var live = new Live(root, options);
      window.TavoliLive.instances.push(live);
      return live.start();
    },
    el: el,
    format: format,
    newOpId: newOpId,
    applyEvent: applyEvent,
    stateFromSnapshot: stateFromSnapshot
  };
}());
