/*
 * gadgets.window.adjustHeight and friends: ask the container (rpc
 * "resize_iframe") to make the iframe as tall as the gadget's content.
 *
 * The rendered page styles html and body with height:100%, so the body's
 * own height is the iframe's, not the content's. The content height is
 * measured instead as the bottom of everything inside the body.
 */
gadgets.window = gadgets.window || {};

(function () {
  var lastHeight = null;

  function number(text) {
    var value = parseFloat(text);
    return isNaN(value) ? 0 : value;
  }

  function contentBottom(body) {
    var range = document.createRange();
    range.selectNodeContents(body);
    var bottom = range.getBoundingClientRect().bottom;
    var children = body.children || [];
    for (var i = 0; i < children.length; i++) {
      var rect = children[i].getBoundingClientRect();
      var style = window.getComputedStyle(children[i]);
      bottom = Math.max(bottom, rect.bottom + number(style.marginBottom));
    }
    return bottom + (window.pageYOffset || 0);
  }

  gadgets.window.getViewportDimensions = function () {
    var root = document.documentElement;
    var body = gadgets.util.getBodyElement();
    return {
      width: window.innerWidth || root.clientWidth || body.clientWidth,
      height: window.innerHeight || root.clientHeight || body.clientHeight
    };
  };

  gadgets.window.getHeight = function () {
    var body = gadgets.util.getBodyElement();
    var style = window.getComputedStyle(body);
    var bottom = contentBottom(body) + number(style.paddingBottom) +
        number(style.borderBottomWidth) + number(style.marginBottom);
    return Math.ceil(Math.max(bottom, 0));
  };

  gadgets.window.adjustHeight = function (opt_height) {
    var height = parseInt(opt_height, 10);
    if (isNaN(height) || height <= 0) {
      height = gadgets.window.getHeight();
    }
    if (height !== lastHeight) {
      lastHeight = height;
      gadgets.rpc.call(null, 'resize_iframe', null, height);
    }
  };
})();
