/*
 * gadgets.MiniMessage: small banners at the top of a gadget (dismissible,
 * timed or static), in the element with id "mm_<moduleId>", which is made
 * at the top of the body when the page has none. The look comes from the
 * CSS lines in config "minimessage".
 */
(function () {
  var cssLines = [];

  gadgets.config.register('minimessage', null, function (config) {
    cssLines = (config.minimessage || {}).css || [];
  });

  function holder(moduleId) {
    var id = 'mm_' + moduleId;
    var element = document.getElementById(id);
    if (!element) {
      element = document.createElement('div');
      element.id = id;
      var body = gadgets.util.getBodyElement();
      body.insertBefore(element, body.firstChild);
    }
    return element;
  }

  gadgets.MiniMessage = function (opt_moduleId, opt_container) {
    this.moduleId_ = opt_moduleId || new gadgets.Prefs().getModuleId() || 0;
    this.container_ = typeof opt_container === 'object' && opt_container ?
        opt_container : holder(this.moduleId_);
    this.count_ = 0;
    gadgets.util.addCss_('mmlib_css', cssLines);
  };

  var proto = gadgets.MiniMessage.prototype;

  proto.createStaticMessage = function (message) {
    this.count_ += 1;
    var table = document.createElement('table');
    table.id = 'mm_' + this.moduleId_ + '_' + this.count_;
    table.className = 'mmlib_table';
    var row = table.insertRow(-1);
    var text = row.insertCell(-1);
    text.className = 'mmlib_text';
    if (typeof message === 'string') {
      text.innerHTML = message;
    } else if (message) {
      text.appendChild(message);
    }
    this.container_.appendChild(table);
    return table;
  };

  proto.createDismissibleMessage = function (message, opt_callback) {
    var table = this.createStaticMessage(message);
    var close = table.rows[0].insertCell(-1);
    close.className = 'mmlib_xlink';
    close.title = 'Dismiss';
    close.appendChild(document.createTextNode('x'));
    var self = this;
    close.onclick = function () {
      if (!opt_callback || opt_callback() !== false) {
        self.dismissMessage(table);
      }
    };
    return table;
  };

  proto.createTimerMessage = function (message, seconds, opt_callback) {
    var table = this.createStaticMessage(message);
    var self = this;
    window.setTimeout(function () {
      self.dismissMessage(table);
      if (opt_callback) {
        opt_callback();
      }
    }, Math.max(0, Number(seconds) || 0) * 1000);
    return table;
  };

  proto.dismissMessage = function (message) {
    if (message && message.parentNode) {
      message.parentNode.removeChild(message);
    }
  };
})();
