// Portico dashboard behaviour. Loaded from /static (the CSP allows no
// inline script); every page works without it, this only adds comfort.
(function () {
  'use strict';
  var csrf = document.body.getAttribute('data-csrf') || '';

  // htmx requests carry the session's CSRF token.
  document.body.addEventListener('htmx:configRequest', function (e) {
    if (csrf) { e.detail.headers['X-CSRF-Token'] = csrf; }
  });

  // Ask before destructive actions.
  document.addEventListener('submit', function (e) {
    var f = e.target;
    var q = f.getAttribute && f.getAttribute('data-confirm');
    if (q && !window.confirm(q)) { e.preventDefault(); }
  }, true);

  // CSV import: upload with a progress bar, show the answer in place.
  document.querySelectorAll('form[data-upload]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      var input = form.querySelector('input[type=file]');
      if (!input || !input.files.length) { return; }
      e.preventDefault();
      var bar = form.querySelector('progress.upload');
      var out = form.querySelector('.upload-result');
      var xhr = new XMLHttpRequest();
      // The other fields (a plan's scale) travel in the query string.
      var url = form.getAttribute('action');
      form.querySelectorAll('input[name]:not([type=file]):not([type=hidden])').forEach(function (i) {
        if (i.value) { url += (url.indexOf('?') < 0 ? '?' : '&') + encodeURIComponent(i.name) + '=' + encodeURIComponent(i.value); }
      });
      var type = input.files[0].type || '';
      xhr.open('POST', url);
      xhr.setRequestHeader('X-CSRF-Token', csrf);
      xhr.setRequestHeader('Content-Type', /^image\//.test(type) ? type : 'text/csv');
      xhr.setRequestHeader('Accept', 'text/plain');
      bar.hidden = false;
      xhr.upload.onprogress = function (p) {
        if (p.lengthComputable) { bar.value = Math.round(p.loaded * 100 / p.total); }
      };
      xhr.onload = function () { bar.value = 100; out.textContent = xhr.responseText; };
      xhr.onerror = function () { out.textContent = 'upload failed'; };
      xhr.send(input.files[0]);
    });
  });

  // Floor maps: a click fills the place (x, y in metres) of the AP
  // placement form, and the two ends of the wall form in turn.
  document.querySelectorAll('svg.floormap').forEach(function (svg) {
    var wallEnd = 0;
    svg.addEventListener('click', function (e) {
      var m = svg.getScreenCTM();
      if (!m) { return; }
      var pt = svg.createSVGPoint();
      pt.x = e.clientX; pt.y = e.clientY;
      var p = pt.matrixTransform(m.inverse());
      var x = Math.round(p.x * 10) / 10, y = Math.round(p.y * 10) / 10;
      var set = function (id, v) { var el = document.getElementById(id); if (el) { el.value = v; } };
      set('place-ap-x', x); set('place-ap-y', y);
      set('survey-x', x); set('survey-y', y);
      set('add-wall-x' + (wallEnd + 1), x); set('add-wall-y' + (wallEnd + 1), y);
      wallEnd = 1 - wallEnd;
      var corners = document.getElementById('add-area-points');
      if (corners) { corners.value = (corners.value ? corners.value + ' ' : '') + x + ',' + y; }
      var mark = svg.querySelector('.clicked');
      if (mark) { mark.setAttribute('cx', p.x); mark.setAttribute('cy', p.y); mark.setAttribute('visibility', 'visible'); }
    });
  });

  // Overview: live figures from server-sent events.
  if (document.getElementById('ov-clients') && window.EventSource) {
    var es = new EventSource('/events/overview');
    es.addEventListener('overview', function (m) {
      var o;
      try { o = JSON.parse(m.data); } catch (_) { return; }
      var set = function (id, v) { var el = document.getElementById(id); if (el) { el.textContent = v; } };
      set('ov-aps-up', o.aps_up);
      set('ov-aps-down', o.aps_down);
      set('ov-clients', o.clients_now);
      set('ov-auth', o.auth_per_minute);
      set('ov-success', o.auth_success_percent === null ? '-' : o.auth_success_percent + '%');
      set('ov-radius', o.radius_per_second);
      set('ov-alerts', o.open_alerts);
      var d = new Date(o.at_ms);
      set('ov-updated', d.toLocaleTimeString(document.documentElement.lang, { hour12: false }));
      document.body.setAttribute('data-live', '1');
    });
  }

  // Charts (uPlot): {t: [seconds], series: [{label, values}]} from data-src.
  var colours = ['#0b5cad', '#a61b1b', '#1b6e2a', '#8a5a00'];
  document.querySelectorAll('.chart[data-src]').forEach(function (el) {
    if (!window.uPlot) { return; }
    fetch(el.getAttribute('data-src'), { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var width = Math.max(280, el.clientWidth || 600);
        var series = [{}];
        var data = [d.t];
        (d.series || []).forEach(function (s, i) {
          series.push({ label: s.label, stroke: colours[i % colours.length], width: 2, spanGaps: false });
          data.push(s.values);
        });
        new window.uPlot({ width: width, height: 240, series: series, axes: [{}, {}] }, data, el);
      })
      .catch(function () {});
  });
})();
