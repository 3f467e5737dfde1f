/*
 * gadgets.log, gadgets.warn, gadgets.error: console logging with a level.
 */
(function () {
  var INFO = 1;
  var WARNING = 2;
  var ERROR = 3;
  var NONE = 4;
  var threshold = INFO;

  function emit(method, level, message) {
    if (level < threshold || typeof console === 'undefined') {
      return;
    }
    var write = console[method] || console.log;
    if (write) {
      write.call(console, message);
    }
  }

  gadgets.log = function (message) {
    emit('log', INFO, message);
  };
  gadgets.warn = function (message) {
    emit('warn', WARNING, message);
  };
  gadgets.error = function (message) {
    emit('error', ERROR, message);
  };
  gadgets.setLogLevel = function (level) {
    threshold = level;
  };
  gadgets.log.INFO = INFO;
  gadgets.log.WARNING = WARNING;
  gadgets.log.ERROR = ERROR;
  gadgets.log.NONE = NONE;
})();
