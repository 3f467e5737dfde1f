/*
 * gadgets.oauth.Popup: open a service provider's approval page in a new
 * window and call back when the person is done.
 *
 *   var popup = new gadgets.oauth.Popup(response.oauthApprovalUrl,
 *       'height=500,width=600', onOpen, onClose);
 *   link.onclick = popup.createOpenerOnClick();
 *   doneLink.onclick = popup.createApprovedOnClick();
 *
 * The person is done when the window closes (polled), or when the
 * container's OAuth callback page says so with
 * {type: "gadgets.oauth.approved"}: through window.opener's postMessage,
 * accepted only from this very origin (the callback on the gadget's own
 * host) or from the container's (the callback's second chance, for
 * browsers that keep no cookies from frames), or, when the browser cut
 * window.opener, through a BroadcastChannel named "gadgets.oauth".
 */
gadgets.oauth = gadgets.oauth || {};

(function () {
  var APPROVED = 'gadgets.oauth.approved';
  var POLL_MS = 100;

  function isApproval(data) {
    var message = typeof data === 'string' ? gadgets.json.parse(data) : data;
    return !!message && message.type === APPROVED;
  }

  function ownOrigin() {
    return window.location.origin ||
        window.location.protocol + '//' + window.location.host;
  }

  // The container's origin: the parent parameter, which the server only
  // accepts when it names the container.
  function containerOrigin() {
    var parent = gadgets.util.getUrlParameters().parent || '';
    var match = /^(https?:\/\/[^\/?#]+)/.exec(parent);
    return match ? match[1] : null;
  }

  function trusted(origin) {
    return origin === ownOrigin() || origin === containerOrigin();
  }

  gadgets.oauth.Popup = function (destination, windowOptions, onOpen, onClose) {
    this.destination_ = destination;
    this.windowOptions_ = windowOptions || null;
    this.onOpen_ = onOpen || function () {};
    this.onClose_ = onClose || function () {};
    this.window_ = null;
    this.timer_ = null;
    this.isWaiting_ = false;
    this.channel_ = null;
    this.onMessage_ = null;
  };

  var proto = gadgets.oauth.Popup.prototype;

  proto.listen_ = function () {
    var self = this;
    this.onMessage_ = function (event) {
      if (trusted(event.origin) && isApproval(event.data)) {
        self.finish_();
      }
    };
    gadgets.util.attachBrowserEvent(window, 'message', this.onMessage_, false);
    if (typeof BroadcastChannel === 'function') {
      this.channel_ = new BroadcastChannel('gadgets.oauth');
      this.channel_.onmessage = function (event) {
        if (isApproval(event.data)) {
          self.finish_();
        }
      };
    }
  };

  proto.stopListening_ = function () {
    if (this.onMessage_) {
      gadgets.util.removeBrowserEvent(window, 'message', this.onMessage_, false);
      this.onMessage_ = null;
    }
    if (this.channel_) {
      this.channel_.close();
      this.channel_ = null;
    }
    if (this.timer_) {
      window.clearInterval(this.timer_);
      this.timer_ = null;
    }
  };

  proto.poll_ = function () {
    var self = this;
    this.timer_ = window.setInterval(function () {
      if (!self.window_ || self.window_.closed) {
        self.finish_();
      }
    }, POLL_MS);
  };

  proto.finish_ = function () {
    if (!this.isWaiting_) {
      return;
    }
    this.isWaiting_ = false;
    this.stopListening_();
    if (this.window_ && !this.window_.closed) {
      this.window_.close();
    }
    this.window_ = null;
    this.onClose_();
  };

  proto.open_ = function () {
    this.stopListening_();
    this.window_ = window.open(this.destination_, '_blank', this.windowOptions_ || '');
    this.isWaiting_ = true;
    this.listen_();
    if (this.window_) {
      this.poll_();
    }
    this.onOpen_();
  };

  proto.createOpenerOnClick = function () {
    var self = this;
    return function () {
      self.open_();
      return false;
    };
  };

  proto.createApprovedOnClick = function () {
    var self = this;
    return function () {
      self.isWaiting_ = true;
      self.finish_();
      return false;
    };
  };
})();
