/*
 * The gadget preview page's answers to its gadget's rpc calls.
 *
 * The page (templates/container/preview.html) holds one gadget iframe on
 * the gadget's own origin. gadgets.container (/gadgets/js/container.js)
 * receives the gadget's rpc messages, checks that each came from that
 * iframe's window and origin with its rpctoken, and hands them to the
 * handlers below: resizeIframe (adjustHeight), setTitle, setPref
 * (setprefs) and navigateTo (requestNavigateTo).
 *
 * Changing the view or the prefs submits the page's prefs form, so the
 * server builds the next iframe URL, with a fresh security token, and
 * every state of the page is a plain URL. The page's data comes from a
 * json_script element: the Content-Security-Policy allows no inline script.
 */
(function () {
  "use strict";

  var MAX_HEIGHT_PIXELS = 4000;

  var data = JSON.parse(document.getElementById("preview-data").textContent);
  var form = document.getElementById("prefs-form");

  function ours(iframeId) {
    return iframeId === data.iframeId;
  }

  function setTitle(iframeId, title) {
    if (ours(iframeId)) {
      document.getElementById(iframeId + "_title").textContent = title;
    }
  }

  function setPref(iframeId, values) {
    if (!ours(iframeId)) {
      return;
    }
    Object.keys(values).forEach(function (name) {
      showPref(name, values[name]);
    });
  }

  function showPref(name, value) {
    var fields = form.querySelectorAll('[name="up_' + CSS.escape(name) + '"]');
    Array.prototype.forEach.call(fields, function (field) {
      if (field.type === "checkbox") {
        field.checked = value === "true";
      } else if (!(field.type === "hidden" && fields.length > 1)) {
        // A bool pref's hidden "false" companion stays as it is.
        field.value = value;
      }
    });
  }

  function navigateTo(iframeId, view, params) {
    if (ours(iframeId)) {
      navigate(view, params);
    }
  }

  function navigate(view, params) {
    document.getElementById("view-field").value = view || "default";
    document.getElementById("view-params-field").value = params
      ? JSON.stringify(params)
      : "";
    form.submit();
  }

  // The switcher's links work without this script; with it, the prefs the
  // gadget set since the page loaded go along to the next view.
  Array.prototype.forEach.call(
    document.querySelectorAll(".views a[data-view]"),
    function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        navigate(link.getAttribute("data-view"), null);
      });
    }
  );

  gadgets.container.setMaxHeight(MAX_HEIGHT_PIXELS);
  gadgets.container.setHandlers({
    // No resizeIframe: container.js sets the iframe's height itself.
    setTitle: setTitle,
    setPref: setPref,
    navigateTo: navigateTo
  });
  gadgets.container.setupReceiver(data.iframeId, data.gadgetOrigin, data.rpcToken);
})();
