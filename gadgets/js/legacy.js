/*
 * core.legacy: the iGoogle-era globals (_IG_*, _gel, _esc, ...) that old
 * gadgets call instead of the gadgets.* API. Each one delegates to the
 * gadgets.* function doing the same job; those of optional features
 * (_IG_AdjustIFrameHeight, _IG_SetTitle, _IG_MiniMessage, _IG_Tabs) look the
 * feature up when called, so they work whenever the gadget required it.
 */
(function () {
  var nextUid = 0;

  function fetchOptions(opt_params, extra) {
    var params = opt_params || {};
    var options = {};
    options[gadgets.io.RequestParameters.REFRESH_INTERVAL] =
        params.refreshInterval === undefined ? 3600 : params.refreshInterval;
    for (var name in extra) {
      if (extra.hasOwnProperty(name)) {
        options[name] = extra[name];
      }
    }
    return options;
  }

  function secondsDates(feed) {
    var entries = feed.Entry || feed.entry || [];
    for (var i = 0; i < entries.length; i++) {
      var date = entries[i].Date === undefined ? entries[i].date : entries[i].Date;
      if (typeof date === 'number') {
        entries[i].Date = Math.floor(date / 1000);
      }
    }
    if (!feed.Entry) {
      feed.Entry = entries;
    }
    return feed;
  }

  window._IG_Prefs = function (opt_moduleId) {
    var prefs = new gadgets.Prefs(opt_moduleId);
    prefs.isEscaping_ = false;
    return prefs;
  };

  window._IG_FetchContent = function (url, callback, opt_params) {
    gadgets.io.makeRequest(url, function (response) {
      callback(response.text);
    }, fetchOptions(opt_params, {CONTENT_TYPE: 'TEXT'}));
  };

  window._IG_FetchXmlContent = function (url, callback, opt_params) {
    gadgets.io.makeRequest(url, function (response) {
      callback(response.data);
    }, fetchOptions(opt_params, {CONTENT_TYPE: 'DOM'}));
  };

  window._IG_FetchFeedAsJSON = function (url, callback, opt_numItems,
      opt_getDescriptions, opt_params) {
    var extra = {CONTENT_TYPE: 'FEED', NUM_ENTRIES: opt_numItems || 3,
        GET_SUMMARIES: !!opt_getDescriptions};
    gadgets.io.makeRequest(url, function (response) {
      if (response.errors.length || !response.data) {
        callback({ErrorMsg: response.errors.join(' ') || 'No feed data.'});
      } else {
        callback(secondsDates(response.data));
      }
    }, fetchOptions(opt_params, extra));
  };

  window._IG_GetCachedUrl = function (url, opt_params) {
    var params = opt_params || {};
    var refresh = params.refreshInterval === undefined ? 3600 : params.refreshInterval;
    return gadgets.io.getProxyUrl(url, {REFRESH_INTERVAL: refresh});
  };
  window._IG_GetImageUrl = window._IG_GetCachedUrl;
  window._IG_GetImage = function (url, opt_params) {
    var image = document.createElement('img');
    image.src = window._IG_GetCachedUrl(url, opt_params);
    return image;
  };

  window._IG_RegisterOnloadHandler = function (callback) {
    gadgets.util.registerOnLoadHandler(callback);
  };
  window._IG_Callback = function (callback, var_args) {
    var args = Array.prototype.slice.call(arguments, 1);
    return function () {
      return callback.apply(null, args.concat(Array.prototype.slice.call(arguments)));
    };
  };
  window._IG_AddDOMEventHandler = function (element, eventName, callback) {
    gadgets.util.attachBrowserEvent(element, eventName, callback, false);
  };

  window._IG_AdjustIFrameHeight = function (opt_height) {
    if (gadgets.window && gadgets.window.adjustHeight) {
      gadgets.window.adjustHeight(opt_height);
    }
  };
  window._IG_SetTitle = function (title) {
    if (gadgets.window && gadgets.window.setTitle) {
      gadgets.window.setTitle(title);
    }
  };
  window._IG_MiniMessage = function (opt_moduleId, opt_container) {
    return new gadgets.MiniMessage(opt_moduleId, opt_container);
  };
  window._IG_Tabs = function (opt_moduleId, opt_defaultTab, opt_container) {
    return new gadgets.TabSet(opt_moduleId, opt_defaultTab, opt_container);
  };
  window._IG_Analytics = function () {};

  window._gel = function (id) {
    return document.getElementById(id);
  };
  window._gelstn = function (tagName) {
    return document.getElementsByTagName(tagName);
  };
  window._gelsbyregex = function (tagName, regex) {
    var found = [];
    var elements = document.getElementsByTagName(tagName);
    for (var i = 0; i < elements.length; i++) {
      if (regex.test(elements[i].id)) {
        found.push(elements[i]);
      }
    }
    return found;
  };
  window._esc = function (text) {
    return encodeURIComponent(text);
  };
  window._unesc = function (text) {
    return decodeURIComponent(String(text).replace(/\+/g, ' '));
  };
  window._hesc = function (text) {
    return gadgets.util.escapeString(text);
  };
  window._striptags = function (text) {
    return String(text).replace(/<\/?[^>]+>/g, '');
  };
  window._trim = function (text) {
    return String(text).replace(/^\s+|\s+$/g, '');
  };
  window._toggle = function (element) {
    element.style.display = element.style.display === 'none' ? '' : 'none';
  };
  window._uid = function () {
    nextUid += 1;
    return nextUid;
  };
  window._min = Math.min;
  window._max = Math.max;
  window._args = function () {
    return gadgets.util.getUrlParameters();
  };
  window._exportSymbols = function (name, symbols) {
    var target = window[name] = window[name] || {};
    for (var i = 0; i + 1 < symbols.length; i += 2) {
      target[symbols[i]] = symbols[i + 1];
    }
  };
})();
