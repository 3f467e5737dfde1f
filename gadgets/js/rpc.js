/*
 * gadgets.rpc: calls between a gadget's iframe and the container page over
 * window.postMessage, and nothing else (no relay pages, no "*" targets).
 *
 * Every message is a JSON string
 *
 *   {"s": "set_title", "f": "gadget-7", "c": 3, "a": ["News"], "t": "9f2c..."}
 *
 * naming the service, the sender's rpc id, a callback id (0: no reply
 * wanted), the arguments and the sender's rpctoken. A reply is a call to
 * service "__cb" with arguments [callbackId, result]; "__ack" is the
 * readiness handshake.
 *
 * Gadget side: the container names the iframe (window.name = iframe id =
 * gadgets.rpc.RPC_ID), puts its own origin or page URL in the `parent`
 * query parameter and a random `rpctoken` in the fragment. The gadget posts
 * only to window.parent with exactly that origin as target, and accepts a
 * message only from window.parent, from that origin and carrying the token.
 * Calls wait until the parent answers the gadget's "__ack" (or sends its
 * own), since the container page may set up its end after the iframe has
 * loaded. With no `parent` parameter, nothing is sent. When config "rpc" lists
 * parentOrigins, a `parent` outside that list is ignored as well, so a page
 * framing the gadget with its own `parent` gets nothing; the first message
 * ("__ack") waits for that config, which the rendered page passes right
 * after the feature script.
 *
 * Container side (RPC_ID ".."): setupReceiver(iframeId, gadgetUrlOrOrigin,
 * rpctoken) for each iframe. A message claiming to come from an iframe is
 * accepted only from that iframe's window, from its origin, with its
 * token. Calls to an iframe wait until its "__ack" arrives.
 */
(function () {
  var PARENT = '..';
  var services = {};
  var defaultHandler = null;
  var callbacks = {};
  var nextCallbackId = 1;
  var receivers = {};
  var relayUrls = {};
  var securityCallback = null;
  var params = gadgets.util.getUrlParameters();
  var parentOrigin = window.parent !== window ? originOf(params.parent) : null;
  var parentToken = params.rpctoken || '';
  var isParentReady = false;
  var parentQueue = [];
  var rpcId = parentOrigin ? (window.name || 'gadget') : PARENT;

  gadgets.config.register('rpc', null, function (config) {
    var allowed = (config.rpc || {}).parentOrigins;
    if (parentOrigin && allowed && allowed.indexOf(parentOrigin) === -1) {
      refuse(PARENT, parentOrigin + ' is not an allowed parent origin.');
      parentOrigin = null;
    }
  });

  function has(map, key) {
    return Object.prototype.hasOwnProperty.call(map, key);
  }

  function originOf(url) {
    var match = /^(https?):\/\/([^\/?#]+)/i.exec(url || '');
    if (!match) {
      return null;
    }
    var scheme = match[1].toLowerCase();
    var authority = match[2].toLowerCase().replace(/^.*@/, '');
    if ((scheme === 'http' && /:80$/.test(authority)) ||
        (scheme === 'https' && /:443$/.test(authority))) {
      authority = authority.replace(/:[0-9]+$/, '');
    }
    return scheme + '://' + authority;
  }

  function frameWindow(id) {
    if (id === PARENT) {
      return window.parent !== window ? window.parent : null;
    }
    var frame = document.getElementById(id);
    return frame && frame.contentWindow ? frame.contentWindow : null;
  }

  function refuse(id, reason) {
    gadgets.warn('gadgets.rpc: ' + reason);
    if (securityCallback) {
      securityCallback(id, reason);
    }
  }

  function post(targetId, message) {
    var origin = targetId === PARENT ? parentOrigin : null;
    message.t = parentToken;
    if (targetId === PARENT && !isParentReady && message.s !== '__ack') {
      parentQueue.push(message);
      return;
    }
    if (targetId !== PARENT) {
      var receiver = has(receivers, targetId) ? receivers[targetId] : null;
      if (!receiver) {
        refuse(targetId, 'no receiver set up for "' + targetId + '".');
        return;
      }
      origin = receiver.origin;
      message.t = receiver.token;
      if (!receiver.isReady && message.s !== '__ack') {
        receiver.queue.push(message);
        return;
      }
    }
    var target = frameWindow(targetId);
    if (!origin || !target) {
      refuse(targetId, 'cannot reach "' + targetId + '" (no parent origin?).');
      return;
    }
    target.postMessage(gadgets.json.stringify(message), origin);
  }

  function takeQueue(id) {
    var queue;
    if (id === PARENT) {
      queue = isParentReady ? [] : parentQueue;
      isParentReady = true;
      parentQueue = [];
    } else if (has(receivers, id) && !receivers[id].isReady) {
      queue = receivers[id].queue;
      receivers[id].isReady = true;
      receivers[id].queue = [];
    }
    return queue || [];
  }

  function markReady(id) {
    var queue = takeQueue(id);
    for (var i = 0; i < queue.length; i++) {
      post(id, queue[i]);
    }
  }

  function isTrusted(message, event) {
    if (message.f === PARENT) {
      return parentOrigin !== null && event.source === window.parent &&
          event.origin === parentOrigin && message.t === parentToken;
    }
    var receiver = has(receivers, message.f) ? receivers[message.f] : null;
    return receiver !== null && event.origin === receiver.origin &&
        message.t === receiver.token && event.source === frameWindow(message.f);
  }

  function dispatch(message) {
    var handler = has(services, message.s) ? services[message.s] : defaultHandler;
    if (!handler) {
      return;
    }
    var hasReplied = false;
    var context = {f: message.f, c: message.c, a: message.a, t: message.t};
    context.callback = function (result) {
      if (hasReplied || !message.c) {
        return;
      }
      hasReplied = true;
      post(message.f, {s: '__cb', f: rpcId, c: 0, a: [message.c, result]});
    };
    var result;
    try {
      result = handler.apply(context, message.a || []);
    } catch (e) {
      gadgets.error('gadgets.rpc: the "' + message.s + '" handler failed: ' + e);
      return;
    }
    if (result !== undefined) {
      context.callback(result);
    }
  }

  function onMessage(event) {
    if (typeof event.data !== 'string' || event.data.charAt(0) !== '{') {
      return;
    }
    var message = gadgets.json.parse(event.data);
    if (!message || typeof message.s !== 'string' || typeof message.f !== 'string') {
      return;
    }
    if (!isTrusted(message, event)) {
      refuse(message.f, 'refused "' + message.s + '" from ' + event.origin + '.');
      return;
    }
    dispatch(message);
  }

  services.__cb = function (callbackId, result) {
    var pending = has(callbacks, callbackId) ? callbacks[callbackId] : null;
    if (pending && pending.target === this.f) {
      delete callbacks[callbackId];
      pending.fn.call({f: this.f, a: [result]}, result);
    }
  };

  services.__ack = function (isReply) {
    markReady(this.f);
    if (!isReply) {
      post(this.f, {s: '__ack', f: rpcId, c: 0, a: [1]});
    }
  };

  services.update_security_token = function (token) {
    if (this.f === PARENT && window.shindig && shindig.auth) {
      shindig.auth.updateSecurityToken(token);
    }
  };

  function isReserved(name) {
    return name === '__cb' || name === '__ack';
  }

  gadgets.rpc = {
    RPC_ID: rpcId,

    register: function (name, handler) {
      if (isReserved(name)) {
        throw new Error('gadgets.rpc: "' + name + '" is reserved.');
      }
      services[name] = handler;
    },

    unregister: function (name) {
      if (!isReserved(name)) {
        delete services[name];
      }
    },

    registerDefault: function (handler) {
      defaultHandler = handler;
    },

    unregisterDefault: function () {
      defaultHandler = null;
    },

    call: function (targetId, serviceName, callback, var_args) {
      var target = targetId || PARENT;
      var callbackId = 0;
      if (typeof callback === 'function') {
        callbackId = nextCallbackId++;
        callbacks[callbackId] = {fn: callback, target: target};
      }
      var args = Array.prototype.slice.call(arguments, 3);
      post(target, {s: serviceName, f: rpcId, c: callbackId, a: args});
    },

    setupReceiver: function (id, urlOrOrigin, opt_rpctoken) {
      var origin = originOf(urlOrOrigin);
      if (!origin) {
        throw new Error('gadgets.rpc: "' + urlOrOrigin + '" is not an http(s) URL.');
      }
      receivers[id] = {origin: origin, token: opt_rpctoken || '', isReady: false,
          queue: []};
      relayUrls[id] = urlOrOrigin;
      post(id, {s: '__ack', f: rpcId, c: 0, a: [0]});
    },

    removeReceiver: function (id) {
      delete receivers[id];
      delete relayUrls[id];
    },

    setAuthToken: function (id, token) {
      if (id === PARENT) {
        parentToken = token;
      } else if (has(receivers, id)) {
        receivers[id].token = token;
      }
    },

    setRelayUrl: function (id, url) {
      relayUrls[id] = url;
    },

    getRelayUrl: function (id) {
      return id === PARENT ? params.parent || null : relayUrls[id] || null;
    },

    getOrigin: originOf,

    getTargetOrigin: function (id) {
      if (!id || id === PARENT) {
        return parentOrigin;
      }
      return has(receivers, id) ? receivers[id].origin : null;
    },

    config: function (options) {
      if (options && typeof options.securityCallback === 'function') {
        securityCallback = options.securityCallback;
      }
    },

    forceParentVerifiable: function () {},

    SECURITY_REFUSED: 'refused'
  };

  gadgets.util.attachBrowserEvent(window, 'message', onMessage, false);
  window.setTimeout(function () {
    if (parentOrigin) {
      post(PARENT, {s: '__ack', f: rpcId, c: 0, a: [0]});
    }
  }, 0);
})();
