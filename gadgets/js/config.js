/*
 * gadgets.config: per-feature settings from the server.
 *
 * The rendered page calls gadgets.config.init({"core.io": {...}, ...}) once
 * every feature script has run. Features call register(name, validators,
 * callback); each callback receives the whole configuration object, at init
 * time or at once if init already happened. Validators are accepted for
 * compatibility and not run: the configuration comes from our own server.
 */
(function () {
  var callbacks = [];
  var current = null;

  function merge(target, source) {
    for (var key in source) {
      if (Object.prototype.hasOwnProperty.call(source, key)) {
        target[key] = source[key];
      }
    }
    return target;
  }

  gadgets.config = {
    register: function (feature, validators, callback) {
      if (typeof callback !== 'function') {
        return;
      }
      callbacks.push(callback);
      if (current !== null) {
        callback(current);
      }
    },

    init: function (config) {
      current = merge(current || {}, config || {});
      for (var i = 0; i < callbacks.length; i++) {
        callbacks[i](current);
      }
    },

    get: function (opt_feature) {
      if (!opt_feature) {
        return current || {};
      }
      return (current && current[opt_feature]) || {};
    }
  };
})();
