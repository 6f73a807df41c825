/* Tavoli — counters under the text fields that have a length limit (data-text-limit, the limit of
   the server's configuration). The counter shows "n di N caratteri" as the person types; a polite
   live region says it after a pause in typing, when the text nears the limit (80%) or passes it,
   so a screen reader is not interrupted at every key. Over the limit the field is marked invalid;
   the server still checks the length and explains a refusal. Strings come translated from the
   page (<body data-i18n-counter>). Fields added later (the live pages' forms) call
   TavoliCounter.attach(field). */
(function () {
  'use strict';

  var PAUSE_MS = 900;
  var NEAR = 0.8;
  var messages = {};
  try { messages = JSON.parse(document.body.getAttribute('data-i18n-counter') || '{}') || {}; }
  catch (e) { messages = {}; }

  function format(template, params) {
    return String(template || '').replace(/%\((\w+)\)s/g, function (_m, key) {
      return params[key] != null ? String(params[key]) : '';
    });
  }

  function number(n) {
    try { return new Intl.NumberFormat(document.documentElement.lang || 'it').format(n); }
    catch (e) { return String(n); }
  }

  function attach(field, counter) {
    var limit = parseInt(field.getAttribute('data-text-limit'), 10);
    if (!limit || field.tavoliCounter) { return; }
    counter = counter || document.querySelector('[data-counter-for="' + field.id + '"]');
    if (!counter) { return; }
    field.tavoliCounter = true;
    var live = document.createElement('span');
    live.className = 'visually-hidden';
    live.setAttribute('aria-live', 'polite');
    counter.parentNode.insertBefore(live, counter.nextSibling);
    var timer = null;
    var said = '';

    function text() {
      var n = field.value.length;
      var params = { n: number(n), limit: number(limit), over: number(n - limit), left: number(limit - n) };
      return { n: n, shown: format(n > limit ? messages.over : messages.text, params),
               spoken: n > limit ? format(messages.over, params) : format(messages.near, params) };
    }

    function update(typing) {
      var t = text();
      counter.textContent = t.shown;
      var over = t.n > limit;
      counter.classList.toggle('tavoli-counter-over', over);
      counter.classList.toggle('tavoli-counter-near', !over && t.n >= limit * NEAR);
      if (over) { field.setAttribute('aria-invalid', 'true'); }
      else if (field.getAttribute('data-counter-invalid') === 'true') { field.removeAttribute('aria-invalid'); }
      field.setAttribute('data-counter-invalid', over ? 'true' : 'false');
      if (!typing) { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var now = text();
        if (now.n < limit * NEAR || now.spoken === said) { return; }
        said = now.spoken;
        live.textContent = now.spoken;
      }, PAUSE_MS);
    }

    field.addEventListener('input', function () { update(true); });
    field.form && field.form.addEventListener('reset', function () { window.setTimeout(function () { update(false); }, 0); });
    update(false);
  }

  function attachAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll('[data-text-limit]'), function (field) {
      if (field.tagName === 'TEXTAREA' || field.tagName === 'INPUT') { attach(field); }
    });
  }

  window.TavoliCounter = { attach: attach, attachAll: attachAll };
  attachAll(document);
}());
