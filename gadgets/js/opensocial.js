/*
 * opensocial (also served for opensocial-0.7 ... opensocial-2.5): a minimal
 * stand-in. This container has no social API, so the namespace answers
 * getEnvironment() and says no to every permission; gadgets that only
 * declared the feature out of habit keep running.
 */
var opensocial = window.opensocial || {};
window.opensocial = opensocial;

(function () {
  var environment = {
    getDomain: function () {
      var params = gadgets.util.getUrlParameters();
      return params.container || params.synd || 'default';
    },
    supportsField: function () {
      return false;
    }
  };

  opensocial.Permission = {VIEWER: 'viewer'};

  opensocial.getEnvironment = function () {
    return environment;
  };

  opensocial.hasPermission = function () {
    return false;
  };

  opensocial.requestPermission = function (permissions, reason, opt_callback) {
    if (opt_callback) {
      window.setTimeout(function () {
        opt_callback({hadError: function () { return true; },
            getErrorCode: function () { return 'notImplemented'; }});
      }, 0);
    }
  };
})();
