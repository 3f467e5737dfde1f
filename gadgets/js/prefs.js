/*
 * gadgets.Prefs: the gadget's user preferences and message bundle.
 *
 * Values come, in order of precedence, from prefs.set() on this page (with
 * the setprefs feature), the up_<name> parameters of the gadget's URL, and
 * the defaults the rendered page passes to gadgets.Prefs.setDefaultPrefs_().
 * Messages come from gadgets.Prefs.setMessages_(). Every Prefs object
 * shares the same data; getString and getArray HTML-escape their results
 * (the legacy _IG_Prefs turns that off).
 */
(function () {
  var defaults = {};
  var messages = {};
  var pageValues = {};
  var urlValues = null;

  function fromUrl() {
    if (urlValues === null) {
      urlValues = {};
      var params = gadgets.util.getUrlParameters();
      for (var name in params) {
        if (name.indexOf('up_') === 0 && params.hasOwnProperty(name)) {
          urlValues[name.substring(3)] = params[name];
        }
      }
    }
    return urlValues;
  }

  function has(map, key) {
    return Object.prototype.hasOwnProperty.call(map, key);
  }

  function rawValue(key) {
    if (has(pageValues, key)) {
      return pageValues[key];
    }
    if (has(fromUrl(), key)) {
      return urlValues[key];
    }
    return has(defaults, key) ? defaults[key] : '';
  }

  function copyInto(target, source) {
    for (var key in source) {
      if (has(source, key)) {
        target[key] = source[key];
      }
    }
  }

  gadgets.Prefs = function (opt_moduleId) {
    this.isEscaping_ = true;
  };

  gadgets.Prefs.setMessages_ = function (bundle) {
    copyInto(messages, bundle || {});
  };

  gadgets.Prefs.setDefaultPrefs_ = function (values) {
    copyInto(defaults, values || {});
  };

  // Internal, for setprefs: read and store values without escaping.
  gadgets.Prefs.rawValue_ = rawValue;
  gadgets.Prefs.storeValue_ = function (key, value) {
    pageValues[key] = value;
  };

  var proto = gadgets.Prefs.prototype;

  proto.escape_ = function (text) {
    return this.isEscaping_ ? gadgets.util.escapeString(text) : text;
  };

  proto.getString = function (key) {
    return this.escape_(String(rawValue(key)));
  };

  proto.getInt = function (key) {
    var number = parseInt(rawValue(key), 10);
    return isNaN(number) ? 0 : number;
  };

  proto.getFloat = function (key) {
    var number = parseFloat(rawValue(key));
    return isNaN(number) ? 0 : number;
  };

  proto.getBool = function (key) {
    var value = rawValue(key);
    if (value === true || value === 'true') {
      return true;
    }
    var number = parseInt(value, 10);
    return !isNaN(number) && number !== 0;
  };

  proto.getArray = function (key) {
    var value = String(rawValue(key));
    if (!value) {
      return [];
    }
    var items = value.split('|');
    for (var i = 0; i < items.length; i++) {
      items[i] = this.escape_(items[i].replace(/%7C/gi, '|'));
    }
    return items;
  };

  proto.getMsg = function (key) {
    return has(messages, key) ? messages[key] : '';
  };

  proto.getLang = function () {
    return gadgets.util.getUrlParameters().lang || 'en';
  };

  proto.getCountry = function () {
    return gadgets.util.getUrlParameters().country || 'US';
  };

  proto.getModuleId = function () {
    var mid = gadgets.util.getUrlParameters().mid || '0';
    return /^-?[0-9]+$/.test(mid) ? parseInt(mid, 10) : mid;
  };

  proto.set = function (key, value) {
    throw new Error('gadgets.Prefs.set needs the "setprefs" feature; ' +
        'add <Require feature="setprefs"/> to the gadget spec.');
  };

  proto.setArray = proto.set;
})();
