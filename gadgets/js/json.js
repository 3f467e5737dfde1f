/*
 * gadgets.json: the browser's JSON, with Shindig's forgiving parse (bad
 * input gives undefined instead of an exception).
 */
gadgets.json = {
  parse: function (text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return undefined;
    }
  },

  stringify: function (value) {
    return JSON.stringify(value);
  }
};
