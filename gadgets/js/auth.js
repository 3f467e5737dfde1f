/*
 * shindig.auth: the gadget's security token.
 *
 * It starts as the `st` parameter of the gadget's URL and can be replaced
 * by the container (rpc "update_security_token") or the page's own code.
 */
shindig.auth = (function () {
  var token = null;
  var trustedData = null;

  gadgets.config.register('shindig.auth', null, function (config) {
    var auth = config['shindig.auth'] || {};
    if (auth.authToken) {
      token = auth.authToken;
    }
    if (auth.trustedJson) {
      trustedData = gadgets.json.parse(auth.trustedJson) || null;
    }
  });

  return {
    getSecurityToken: function () {
      if (token === null) {
        token = gadgets.util.getUrlParameters().st || null;
      }
      return token;
    },

    updateSecurityToken: function (newToken) {
      token = newToken;
    },

    getTrustedData: function () {
      return trustedData;
    }
  };
})();
