/*
 * gadgets.container: the container page's end of gadget messaging. Load it
 * on the container's page as /gadgets/js/container.js (it brings rpc with
 * it, and not the gadget-side core).
 *
 *   gadgets.container.setHandlers({
 *     resizeIframe: function (iframeId, height) {},  // default: sets height
 *     setTitle: function (iframeId, title) {},       // plain text: use textContent
 *     setPref: function (iframeId, values) {},       // {name: value, ...}
 *     navigateTo: function (iframeId, view, params, ownerId) {}
 *   });
 *   var rpctoken = gadgets.container.newRpcToken();
 *   iframe.id = iframe.name = 'gadget-7';
 *   iframe.src = ifrUrl + '&parent=' + encodeURIComponent(location.origin) +
 *       '#rpctoken=' + rpctoken;
 *   gadgets.container.setupReceiver('gadget-7', gadgetOrigin, rpctoken);
 *
 * rpc only delivers a call to these handlers after checking that it came
 * from that iframe's window, from its origin, with its rpctoken. The
 * handlers receive the iframe id, never a window, and values already
 * checked for type; everything else the gadget sends is still untrusted.
 */
gadgets.container = (function () {
  var handlers = {};
  var maxHeight = 4096;
  var MAX_TITLE_LENGTH = 200;

  function resizeIframe(iframeId, height) {
    var frame = document.getElementById(iframeId);
    if (frame) {
      frame.style.height = Math.min(height, maxHeight) + 'px';
    }
  }

  function call(name, args) {
    var handler = handlers[name];
    if (typeof handler === 'function') {
      return handler.apply(null, args);
    }
    if (name === 'resizeIframe') {
      resizeIframe(args[0], args[1]);
    }
    return undefined;
  }

  gadgets.rpc.register('resize_iframe', function (height) {
    var pixels = Math.round(Number(height));
    if (isFinite(pixels) && pixels >= 0) {
      call('resizeIframe', [this.f, pixels]);
    }
  });

  gadgets.rpc.register('set_title', function (title) {
    call('setTitle', [this.f, String(title).substring(0, MAX_TITLE_LENGTH)]);
  });

  gadgets.rpc.register('set_pref', function (editToken, var_args) {
    var values = {};
    for (var i = 1; i + 1 < arguments.length; i += 2) {
      values[String(arguments[i])] = String(arguments[i + 1]);
    }
    call('setPref', [this.f, values]);
  });

  gadgets.rpc.register('requestNavigateTo', function (view, opt_params, opt_ownerId) {
    var params = opt_params && typeof opt_params === 'object' ? opt_params : null;
    call('navigateTo', [this.f, String(view), params, opt_ownerId || null]);
  });

  return {
    setHandlers: function (newHandlers) {
      handlers = newHandlers || {};
    },

    setMaxHeight: function (pixels) {
      maxHeight = pixels;
    },

    setupReceiver: function (iframeId, gadgetOrigin, rpctoken) {
      if (!rpctoken) {
        throw new Error('gadgets.container: every gadget iframe needs an rpctoken.');
      }
      gadgets.rpc.setupReceiver(iframeId, gadgetOrigin, rpctoken);
    },

    removeReceiver: function (iframeId) {
      gadgets.rpc.removeReceiver(iframeId);
    },

    updateSecurityToken: function (iframeId, securityToken) {
      gadgets.rpc.call(iframeId, 'update_security_token', null, securityToken);
    },

    newRpcToken: function () {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      var hex = '';
      for (var i = 0; i < bytes.length; i++) {
        hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
      }
      return hex;
    }
  };
})();
