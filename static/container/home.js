/*
 * The home and canvas pages' side of the gadgets: rpc services, drag and
 * drop, and minimise without a reload.
 *
 * The page works without this file (every action is a plain form); this
 * adds what needs JavaScript. Page data comes from the
 * <script type="application/json" id="container-data"> block:
 *
 *   {"csrfToken": "...", "homeUrl": "/",
 *    "gadgets": [{"gadgetId": 4, "iframeId": "remote_iframe_2",
 *                 "origin": "http://<hash>.gadgets.localhost:8000",
 *                 "rpcToken": "...", "view": "home", "prefsUrl": "...",
 *                 "moveUrl": "...", "canvasUrl": "..."}]}
 *
 * gadgets.container (/gadgets/js/container.js) checks each message's
 * window, origin and rpctoken before it calls the handlers below, which
 * still treat every value as untrusted text.
 */
(function () {
  'use strict';

  var MAX_HEIGHT_PX = 4096;
  var data = JSON.parse(document.getElementById('container-data').textContent);
  var byIframe = {};

  function post(url, body, isJson) {
    var headers = {'X-CSRFToken': data.csrfToken, 'Accept': 'application/json'};
    if (isJson) {
      headers['Content-Type'] = 'application/json';
    }
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: headers,
      body: isJson ? JSON.stringify(body) : body
    });
  }

  function withViewParams(url, params, extra) {
    var query = extra || [];
    if (params) {
      query.push('view-params=' + encodeURIComponent(JSON.stringify(params)));
    }
    return query.length ? url + '?' + query.join('&') : url;
  }

  var handlers = {
    resizeIframe: function (iframeId, height) {
      var frame = document.getElementById(iframeId);
      if (frame) {
        frame.style.height = Math.min(height, MAX_HEIGHT_PX) + 'px';
      }
    },

    setTitle: function (iframeId, title) {
      var heading = document.getElementById(iframeId + '_title');
      if (heading) {
        var target = heading.querySelector('a') || heading;
        target.textContent = title;
      }
    },

    setPref: function (iframeId, values) {
      var gadget = byIframe[iframeId];
      if (gadget) {
        post(gadget.prefsUrl, {prefs: values}, true);
      }
    },

    navigateTo: function (iframeId, view, params) {
      var gadget = byIframe[iframeId];
      if (!gadget) {
        return;
      }
      var major = view.split('.')[0];
      if (major === 'canvas' && gadget.view !== 'canvas') {
        window.location.assign(withViewParams(gadget.canvasUrl, params));
      } else if (major !== 'canvas' && gadget.view === 'canvas') {
        var back = withViewParams(data.homeUrl, params, ['gadget=' + gadget.gadgetId]);
        window.location.assign(back + '#gadget-' + gadget.gadgetId);
      }
    }
  };

  gadgets.container.setMaxHeight(MAX_HEIGHT_PX);
  gadgets.container.setHandlers(handlers);
  data.gadgets.forEach(function (gadget) {
    byIframe[gadget.iframeId] = gadget;
    if (gadget.origin && gadget.rpcToken) {
      gadgets.container.setupReceiver(gadget.iframeId, gadget.origin, gadget.rpcToken);
    }
  });

  // Minimise and restore in place, saving the state on the server.
  document.querySelectorAll('.minimise-form').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var field = form.querySelector('input[name="minimised"]');
      var button = form.querySelector('button');
      var isMinimised = field.value === '1';
      post(form.action, new FormData(form), false).then(function (response) {
        if (!response.ok) {
          return;
        }
        form.closest('.gadget').classList.toggle('is-minimised', isMinimised);
        field.value = isMinimised ? '0' : '1';
        button.textContent = isMinimised ? '\u25A2' : '\u2013';
        button.title = isMinimised ? 'Restore' : 'Minimise';
      });
    });
  });

  // One open gadget menu at a time; a click elsewhere or Escape closes it.
  function closeMenus(except) {
    document.querySelectorAll('.gadget-menu[open]').forEach(function (menu) {
      if (menu !== except) {
        menu.removeAttribute('open');
      }
    });
  }
  document.addEventListener('click', function (event) {
    closeMenus(event.target.closest ? event.target.closest('.gadget-menu') : null);
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') {
      closeMenus(null);
    }
  });

  // Drag a gadget by its title bar into any column, at any position.
  var dragged = null;

  function dropIndex(column, y) {
    var others = Array.prototype.filter.call(column.children, function (el) {
      return el.classList.contains('gadget') && el !== dragged;
    });
    for (var i = 0; i < others.length; i++) {
      var box = others[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) {
        return i;
      }
    }
    return others.length;
  }

  function placeAt(column, index) {
    var others = Array.prototype.filter.call(column.children, function (el) {
      return el.classList.contains('gadget') && el !== dragged;
    });
    column.insertBefore(dragged, others[index] || null);
  }

  document.querySelectorAll('.columns .gadget').forEach(function (gadget) {
    var bar = gadget.querySelector('.gadget-bar');
    bar.setAttribute('draggable', 'true');
    bar.addEventListener('dragstart', function (event) {
      dragged = gadget;
      gadget.classList.add('is-dragging');
      // Iframes would swallow the drag events; let them fall through.
      document.body.classList.add('is-dragging-gadget');
      event.dataTransfer.effectAllowed = 'move';
      event.dataTransfer.setData('text/plain', gadget.dataset.gadgetId);
    });
    bar.addEventListener('dragend', function () {
      gadget.classList.remove('is-dragging');
      document.body.classList.remove('is-dragging-gadget');
      dragged = null;
    });
  });

  document.querySelectorAll('.columns .column').forEach(function (column) {
    column.addEventListener('dragover', function (event) {
      if (dragged) {
        event.preventDefault();
        column.classList.add('drop-target');
      }
    });
    column.addEventListener('dragleave', function () {
      column.classList.remove('drop-target');
    });
    column.addEventListener('drop', function (event) {
      column.classList.remove('drop-target');
      if (!dragged) {
        return;
      }
      event.preventDefault();
      var index = dropIndex(column, event.clientY);
      var form = new FormData();
      form.append('column', column.dataset.column);
      form.append('position', String(index));
      var moved = dragged;
      var url = byGadgetId(moved.dataset.gadgetId);
      placeAt(column, index);
      post(url, form, false).then(function (response) {
        if (!response.ok) {
          window.location.reload();
        }
      });
    });
  });

  function byGadgetId(id) {
    var form = document.querySelector('#gadget-' + id + ' .move-form');
    return form.action;
  }
})();
