/*
 * setprefs: prefs.set(name, value, ...) and prefs.setArray(name, list)
 * update the page's copy of the prefs and ask the container to save them,
 * with rpc "set_pref" and arguments [null, name1, value1, name2, ...]. The
 * first argument is Shindig's edit token; the rpctoken already
 * authenticates the call, so it is null. Nothing is sent when no value
 * changed.
 */
(function () {
  var proto = gadgets.Prefs.prototype;

  proto.set = function (key, value) {
    var changed = [];
    for (var i = 0; i + 1 < arguments.length; i += 2) {
      var name = String(arguments[i]);
      var text = String(arguments[i + 1]);
      if (String(gadgets.Prefs.rawValue_(name)) !== text) {
        gadgets.Prefs.storeValue_(name, text);
        changed.push(name, text);
      }
    }
    if (changed.length) {
      var args = [null, 'set_pref', null, null].concat(changed);
      gadgets.rpc.call.apply(gadgets.rpc, args);
    }
  };

  proto.setArray = function (key, values) {
    var items = [];
    for (var i = 0; i < values.length; i++) {
      items.push(String(values[i]).replace(/\|/g, '%7C'));
    }
    this.set(key, items.join('|'));
  };

  gadgets.Prefs.canSet_ = true;
})();
