/*
 * gadgets.util: URL parameters, on-load handlers, HTML escaping, closures,
 * enums, feature parameters and a few DOM helpers.
 *
 * getUrlParameters() reads both the query and the fragment of the gadget's
 * own URL: the container puts most values in the query and the ones it
 * sets per navigation (rpctoken, view-params) in the fragment, so a
 * fragment value wins over a query value of the same name.
 *
 * runOnLoadHandlers() is called by a script at the end of the rendered
 * body, not on window.onload. A handler registered after that runs at once.
 */
(function () {
  var onLoadHandlers = [];
  var hasRunOnLoad = false;
  var pageParams = null;
  var declaredFeatures = {};

  // Characters that could end an attribute, open a tag or break a script
  // string. '&' is left alone, as in Shindig, so URLs in prefs survive.
  var UNSAFE_CHARS = /[\u0000\n\r"'<>\\\u2028\u2029]/g;

  gadgets.config.register('core.util', null, function (config) {
    declaredFeatures = config['core.util'] || {};
  });

  function decodeParam(text) {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch (e) {
      return text;
    }
  }

  function addPairs(params, text) {
    var pairs = text.split('&');
    for (var i = 0; i < pairs.length; i++) {
      if (!pairs[i]) {
        continue;
      }
      var eq = pairs[i].indexOf('=');
      var name = eq === -1 ? pairs[i] : pairs[i].substring(0, eq);
      var value = eq === -1 ? '' : pairs[i].substring(eq + 1);
      params[decodeParam(name)] = decodeParam(value);
    }
  }

  function parseUrl(url) {
    var params = {};
    var hash = url.indexOf('#');
    var fragment = hash === -1 ? '' : url.substring(hash + 1);
    var beforeHash = hash === -1 ? url : url.substring(0, hash);
    var question = beforeHash.indexOf('?');
    addPairs(params, question === -1 ? '' : beforeHash.substring(question + 1));
    addPairs(params, fragment);
    return params;
  }

  function escapeString(text) {
    return String(text).replace(UNSAFE_CHARS, function (ch) {
      var code = ch.charCodeAt(0);
      return code === 0 ? '' : '&#' + code + ';';
    });
  }

  var NAMED_ENTITIES = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"};

  function unescapeString(text) {
    return String(text).replace(/&(#[0-9]+|[a-z]+);/g, function (all, ref) {
      if (ref.charAt(0) === '#') {
        return String.fromCharCode(parseInt(ref.substring(1), 10));
      }
      return NAMED_ENTITIES.hasOwnProperty(ref) ? NAMED_ENTITIES[ref] : all;
    });
  }

  function escapeValue(value, escapeObjects) {
    if (typeof value === 'string') {
      return escapeString(value);
    }
    if (!escapeObjects || value === null || typeof value !== 'object') {
      return value;
    }
    var copy = Object.prototype.toString.call(value) === '[object Array]' ? [] : {};
    for (var key in value) {
      if (Object.prototype.hasOwnProperty.call(value, key)) {
        copy[escapeString(key)] = escapeValue(value[key], true);
      }
    }
    return copy;
  }

  gadgets.util = {
    getUrlParameters: function (opt_url) {
      if (opt_url) {
        return parseUrl(opt_url);
      }
      if (pageParams === null) {
        pageParams = parseUrl(window.location.href);
      }
      return pageParams;
    },

    registerOnLoadHandler: function (callback) {
      if (hasRunOnLoad) {
        callback();
      } else {
        onLoadHandlers.push(callback);
      }
    },

    runOnLoadHandlers: function () {
      hasRunOnLoad = true;
      var handlers = onLoadHandlers;
      onLoadHandlers = [];
      for (var i = 0; i < handlers.length; i++) {
        try {
          handlers[i]();
        } catch (e) {
          gadgets.error('An on-load handler failed: ' + e);
        }
      }
    },

    makeClosure: function (scope, callback, var_args) {
      var bound = Array.prototype.slice.call(arguments, 2);
      return function () {
        var args = bound.concat(Array.prototype.slice.call(arguments));
        return callback.apply(scope, args);
      };
    },

    makeEnum: function (names) {
      var result = {};
      for (var i = 0; i < names.length; i++) {
        result[names[i]] = names[i];
      }
      return result;
    },

    escapeString: escapeString,
    unescapeString: unescapeString,

    escape: function (value, opt_escapeObjects) {
      return escapeValue(value, !!opt_escapeObjects);
    },

    hasFeature: function (name) {
      return Object.prototype.hasOwnProperty.call(declaredFeatures, name);
    },

    getFeatureParameters: function (name) {
      return gadgets.util.hasFeature(name) ? declaredFeatures[name] : null;
    },

    getServices: function () {
      return {};
    },

    isDebug: function () {
      return gadgets.util.getUrlParameters().debug === '1';
    },

    attachBrowserEvent: function (element, eventName, callback, useCapture) {
      if (element.addEventListener) {
        element.addEventListener(eventName, callback, !!useCapture);
      } else if (element.attachEvent) {
        element.attachEvent('on' + eventName, callback);
      }
    },

    removeBrowserEvent: function (element, eventName, callback, useCapture) {
      if (element.removeEventListener) {
        element.removeEventListener(eventName, callback, !!useCapture);
      } else if (element.detachEvent) {
        element.detachEvent('on' + eventName, callback);
      }
    },

    createElement: function (tagName) {
      return document.createElement(tagName);
    },

    createIframeElement: function (opt_attributes) {
      var frame = document.createElement('iframe');
      frame.frameBorder = '0';
      var attributes = opt_attributes || {};
      for (var name in attributes) {
        if (Object.prototype.hasOwnProperty.call(attributes, name)) {
          frame.setAttribute(name, attributes[name]);
        }
      }
      return frame;
    },

    getBodyElement: function () {
      return document.body || document.getElementsByTagName('body')[0] ||
          document.documentElement;
    },

    // Internal: adds CSS lines (from a feature's config) to the page once.
    addCss_: function (id, lines) {
      if (!lines || !lines.length || document.getElementById(id)) {
        return;
      }
      var style = document.createElement('style');
      style.id = id;
      style.appendChild(document.createTextNode(lines.join('\n')));
      var head = document.getElementsByTagName('head')[0] ||
          document.documentElement;
      head.appendChild(style);
    }
  };
})();
