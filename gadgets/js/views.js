/*
 * gadgets.views: which view the gadget is rendered in, the views the
 * container supports (config "views", aliases included), navigation
 * requests to the container (rpc "requestNavigateTo") and the parameters
 * passed with them (the `view-params` JSON parameter of the gadget's URL).
 */
(function () {
  var supported = {};

  function View(name, isOnlyVisible) {
    this.name_ = name;
    this.isOnlyVisible_ = !!isOnlyVisible;
  }
  View.prototype.getName = function () {
    return this.name_;
  };
  View.prototype.isOnlyVisibleGadget = function () {
    return this.isOnlyVisible_;
  };
  View.prototype.getUrlTemplate = function () {
    return null;
  };
  View.prototype.bind = function (environment) {
    return null;
  };

  gadgets.config.register('views', null, function (config) {
    var views = config.views || {};
    supported = {};
    for (var name in views) {
      if (!views.hasOwnProperty(name)) {
        continue;
      }
      var view = new View(name, views[name].isOnlyVisible);
      supported[name] = view;
      var aliases = views[name].aliases || [];
      for (var i = 0; i < aliases.length; i++) {
        supported[aliases[i]] = supported[aliases[i]] || view;
      }
    }
  });

  gadgets.views = {
    View: View,

    ViewType: {
      CANVAS: 'canvas',
      HOME: 'home',
      PROFILE: 'profile',
      PREVIEW: 'preview',
      DEFAULT: 'default',
      FULL_PAGE: 'canvas',
      DASHBOARD: 'home'
    },

    getCurrentView: function () {
      var name = gadgets.util.getUrlParameters().view || 'default';
      return supported.hasOwnProperty(name) ? supported[name] : new View(name);
    },

    getSupportedViews: function () {
      return supported;
    },

    getParams: function () {
      var raw = gadgets.util.getUrlParameters()['view-params'];
      var parsed = raw ? gadgets.json.parse(raw) : null;
      return parsed && typeof parsed === 'object' ? parsed : {};
    },

    requestNavigateTo: function (view, opt_params, opt_ownerId) {
      var name = typeof view === 'string' ? view : view.getName();
      gadgets.rpc.call(null, 'requestNavigateTo', null, name, opt_params || null,
          opt_ownerId || null);
    },

    bind: function (urlTemplate, environment) {
      var values = environment || {};
      return String(urlTemplate).replace(/\{([^{}]+)\}/g, function (all, name) {
        return values.hasOwnProperty(name) ? encodeURIComponent(values[name]) : '';
      });
    }
  };
})();
