/*
 * gadgets.io: fetch remote content through the gadget server.
 *
 * makeRequest(url, callback, params) POSTs a form to the same-origin
 * jsonProxyUrl (config core.io, normally /gadgets/makeRequest on the
 * gadget's own host) with the fields Shindig's servlet reads: url,
 * httpMethod, headers, postData, authz, st, contentType, numEntries,
 * getSummaries, signOwner, signViewer, gadget, container, bypassSpecCache,
 * getFullHeaders, nocache, refresh, the OAUTH_* parameters and oauthState.
 * The answer is the unparseable cruft followed by JSON keyed by the URL:
 *
 *   throw 1; < don't be evil' >{"http://x/feed": {"rc": 200, "body": "..."}}
 *
 * The callback receives {data, text, rc, headers, errors, oauthApprovalUrl,
 * oauthError, oauthErrorText, ...}. The oauthState a response returns is
 * sent back with the next OAuth request. Preloaded responses
 * (gadgets.io.preloaded_, written by the rendered page as a list of
 * {id: url, rc, body, headers, ...}) answer the first GET for their URL.
 *
 * getProxyUrl fills the config's proxyUrl template (%url%, %rawurl%,
 * %refresh%, %container%, %gadget%); the default template is the URL itself.
 */
(function () {
  var config = {};
  var oauthState = null;
  var DEFAULT_CRUFT = "throw 1; < don't be evil' >";
  // No content proxy by default: the URL itself (see features.py).
  var DEFAULT_PROXY = '%rawurl%';

  // Signed and OAuth preloads, started at config time (the server cannot
  // fetch them: the security token is in this page's fragment). Each slot
  // is used once, by the gadget's first GET makeRequest of that URL with
  // that authz: {entry: answer or null, done: bool, waiting: [functions]}.
  var authPreloads = {};

  gadgets.config.register('core.io', null, function (all) {
    config = all['core.io'] || {};
    startAuthPreloads(config.authPreloads || []);
  });

  function has(map, key) {
    return Object.prototype.hasOwnProperty.call(map, key);
  }

  function encodeValues(fields, opt_noEscape) {
    var pairs = [];
    for (var name in fields) {
      if (!has(fields, name) || fields[name] === undefined ||
          fields[name] === null || typeof fields[name] === 'function') {
        continue;
      }
      if (opt_noEscape) {
        pairs.push(name + '=' + fields[name]);
      } else {
        pairs.push(encodeURIComponent(name) + '=' +
            encodeURIComponent(fields[name]));
      }
    }
    return pairs.join('&');
  }

  function pageParams() {
    return gadgets.util.getUrlParameters();
  }

  function containerName() {
    var params = pageParams();
    return params.container || params.synd || config.container || 'default';
  }

  function flag(value) {
    return value ? 'true' : 'false';
  }

  function requestFields(url, params) {
    var authz = String(params.AUTHORIZATION || 'NONE').toLowerCase();
    var fields = {
      url: url,
      httpMethod: String(params.METHOD || 'GET').toUpperCase(),
      headers: encodeValues(params.HEADERS || {}),
      postData: params.POST_DATA || '',
      authz: authz,
      st: shindig.auth.getSecurityToken() || '',
      contentType: String(params.CONTENT_TYPE || 'TEXT').toUpperCase(),
      numEntries: params.NUM_ENTRIES || 3,
      getSummaries: flag(params.GET_SUMMARIES),
      signOwner: String(params.SIGN_OWNER !== false),
      signViewer: String(params.SIGN_VIEWER !== false),
      gadget: pageParams().url || '',
      container: containerName(),
      bypassSpecCache: pageParams().nocache === '1' ? '1' : '',
      getFullHeaders: flag(params.GET_FULL_HEADERS),
      nocache: params.NO_CACHE ? '1' : ''
    };
    if (params.REFRESH_INTERVAL !== undefined) {
      fields.refresh = params.REFRESH_INTERVAL;
    }
    addOAuthFields(fields, params, authz);
    return fields;
  }

  var OAUTH_PARAMS = ['OAUTH_SERVICE_NAME', 'OAUTH_USE_TOKEN', 'OAUTH_TOKEN_NAME',
      'OAUTH_REQUEST_TOKEN', 'OAUTH_REQUEST_TOKEN_SECRET',
      'OAUTH_RECEIVED_CALLBACK'];

  function addOAuthFields(fields, params, authz) {
    for (var i = 0; i < OAUTH_PARAMS.length; i++) {
      var name = OAUTH_PARAMS[i];
      if (params[name] !== undefined && params[name] !== null) {
        fields[name] = params[name];
      }
    }
    if ((authz === 'oauth' || authz === 'oauth2') && oauthState) {
      fields.oauthState = oauthState;
    }
  }

  function stripCruft(text) {
    var cruft = config.unparseableCruft || DEFAULT_CRUFT;
    return text.indexOf(cruft) === 0 ? text.substring(cruft.length) : text;
  }

  function parseXml(text) {
    var doc = new DOMParser().parseFromString(text, 'text/xml');
    if (!doc || doc.getElementsByTagName('parsererror').length) {
      return null;
    }
    return doc;
  }

  function parseBody(response, body, contentType) {
    if (contentType === 'JSON' || contentType === 'FEED') {
      response.data = gadgets.json.parse(body);
      if (response.data === undefined) {
        response.data = null;
        response.errors.push('The response was not valid JSON.');
      }
    } else if (contentType === 'DOM') {
      response.data = parseXml(body);
      if (response.data === null) {
        response.errors.push('The response was not valid XML.');
      }
    } else {
      response.data = body;
    }
  }

  var OAUTH_FIELDS = ['oauthApprovalUrl', 'oauthError', 'oauthErrorText',
      'oauthErrorUri', 'oauthErrorExplanation', 'oauthErrorTrace'];

  function buildResponse(entry, params) {
    var body = entry.body === undefined || entry.body === null ? '' : String(entry.body);
    var rc = entry.rc === undefined ? 200 : entry.rc;
    var response = {data: null, text: body, rc: rc, headers: entry.headers || {},
        errors: []};
    for (var i = 0; i < OAUTH_FIELDS.length; i++) {
      if (entry[OAUTH_FIELDS[i]] !== undefined) {
        response[OAUTH_FIELDS[i]] = entry[OAUTH_FIELDS[i]];
      }
    }
    if (entry.oauthState) {
      oauthState = entry.oauthState;
      response.oauthState = entry.oauthState;
    }
    if (rc < 200 || rc >= 400) {
      response.errors.push('Error ' + rc);
      return response;
    }
    parseBody(response, body, String(params.CONTENT_TYPE || 'TEXT').toUpperCase());
    return response;
  }

  function failure(status, message) {
    return {data: null, text: '', rc: status, headers: {}, errors: [message]};
  }

  function handleAnswer(xhr, url, params, callback) {
    if (xhr.status !== 200) {
      callback(failure(xhr.status || 500, 'Error ' + (xhr.status || 500)));
      return;
    }
    var entry = entryOf(xhr, url);
    if (entry === null) {
      callback(failure(500, 'The gadget server sent an unreadable answer.'));
      return;
    }
    callback(buildResponse(entry, params));
  }

  function entryOf(xhr, url) {
    var answer = gadgets.json.parse(stripCruft(xhr.responseText));
    if (!answer || typeof answer !== 'object') {
      return null;
    }
    return (has(answer, url) ? answer[url] : firstValue(answer)) || {rc: 500};
  }

  function firstValue(map) {
    for (var key in map) {
      if (has(map, key)) {
        return map[key];
      }
    }
    return null;
  }

  function takePreloaded(url) {
    var preloaded = gadgets.io.preloaded_;
    if (!preloaded) {
      return null;
    }
    if (Object.prototype.toString.call(preloaded) !== '[object Array]') {
      var keyed = has(preloaded, url) ? preloaded[url] : null;
      delete preloaded[url];
      return keyed;
    }
    for (var i = 0; i < preloaded.length; i++) {
      if (preloaded[i] && preloaded[i].id === url) {
        return preloaded.splice(i, 1)[0];
      }
    }
    return null;
  }

  function post(fields, onDone) {
    var xhr = new XMLHttpRequest();
    xhr.open('POST', config.jsonProxyUrl || '/gadgets/makeRequest', true);
    xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    if (fields.st) {
      xhr.setRequestHeader('X-Shindig-ST', fields.st);
    }
    xhr.onreadystatechange = function () {
      if (xhr.readyState === 4) {
        onDone(xhr);
      }
    };
    xhr.send(encodeValues(fields));
  }

  function send(url, fields, params, callback) {
    post(fields, function (xhr) {
      handleAnswer(xhr, url, params, callback);
    });
  }

  function preloadKey(authz, url) {
    return authz + ' ' + url;
  }

  function startAuthPreloads(list) {
    for (var i = 0; i < list.length; i++) {
      startAuthPreload(list[i]);
    }
  }

  function startAuthPreload(preload) {
    var params = {
      AUTHORIZATION: String(preload.authz).toUpperCase(),
      SIGN_OWNER: preload.signOwner !== false,
      SIGN_VIEWER: preload.signViewer !== false
    };
    addOAuthFields(params, preload, '');
    var slot = {entry: null, done: false, waiting: []};
    authPreloads[preloadKey(preload.authz, preload.href)] = slot;
    post(requestFields(preload.href, params), function (xhr) {
      slot.entry = xhr.status === 200 ? entryOf(xhr, preload.href) : null;
      slot.done = true;
      var waiting = slot.waiting;
      slot.waiting = [];
      for (var j = 0; j < waiting.length; j++) {
        waiting[j](slot.entry);
      }
    });
  }

  // The preloaded answer for this request, or a live one when the preload
  // failed; false when no preload matches.
  function fromAuthPreload(url, fields, params, done) {
    var key = preloadKey(fields.authz, url);
    var slot = has(authPreloads, key) ? authPreloads[key] : null;
    if (!slot || fields.httpMethod !== 'GET') {
      return false;
    }
    delete authPreloads[key];
    var use = function (entry) {
      if (entry) {
        done(buildResponse(entry, params));
      } else {
        send(url, fields, params, done);
      }
    };
    if (slot.done) {
      window.setTimeout(function () { use(slot.entry); }, 0);
    } else {
      slot.waiting.push(use);
    }
    return true;
  }

  function makeRequest(url, callback, opt_params) {
    var params = opt_params || {};
    var done = typeof callback === 'function' ? callback : function () {};
    var fields = requestFields(url, params);
    if (fields.authz !== 'none') {
      if (!fromAuthPreload(url, fields, params, done)) {
        send(url, fields, params, done);
      }
      return;
    }
    var preloaded = fields.httpMethod === 'GET' ? takePreloaded(url) : null;
    if (preloaded) {
      window.setTimeout(function () {
        done(buildResponse(preloaded, params));
      }, 0);
      return;
    }
    send(url, fields, params, done);
  }

  function getProxyUrl(url, opt_params) {
    var params = opt_params || {};
    var refresh = params.REFRESH_INTERVAL;
    var values = {
      url: encodeURIComponent(url),
      rawurl: url,
      refresh: String(refresh === undefined ? 3600 : refresh),
      container: encodeURIComponent(containerName()),
      gadget: encodeURIComponent(pageParams().url || ''),
      authz: '',
      rewriteMime: '',
      filename: ''
    };
    var template = config.proxyUrl || DEFAULT_PROXY;
    return template.replace(/%([a-zA-Z]+)%/g, function (all, name) {
      return has(values, name) ? values[name] : all;
    });
  }

  function makeNonProxiedRequest(relativeUrl, callback, opt_params, opt_contentType) {
    var params = opt_params || {};
    var xhr = new XMLHttpRequest();
    xhr.open(String(params.METHOD || 'GET').toUpperCase(), relativeUrl, true);
    var headers = params.HEADERS || {};
    for (var name in headers) {
      if (has(headers, name)) {
        xhr.setRequestHeader(name, headers[name]);
      }
    }
    xhr.onreadystatechange = function () {
      if (xhr.readyState === 4) {
        var entry = {rc: xhr.status, body: xhr.responseText};
        var type = opt_contentType || params.CONTENT_TYPE;
        callback(buildResponse(entry, {CONTENT_TYPE: type}));
      }
    };
    xhr.send(params.POST_DATA || null);
  }

  gadgets.io = {
    makeRequest: makeRequest,
    makeNonProxiedRequest: makeNonProxiedRequest,
    encodeValues: encodeValues,
    getProxyUrl: getProxyUrl,
    preloaded_: gadgets.io && gadgets.io.preloaded_,
    RequestParameters: gadgets.util.makeEnum(['METHOD', 'CONTENT_TYPE',
        'POST_DATA', 'HEADERS', 'AUTHORIZATION', 'NUM_ENTRIES', 'GET_SUMMARIES',
        'GET_FULL_HEADERS', 'REFRESH_INTERVAL', 'SIGN_OWNER', 'SIGN_VIEWER',
        'OAUTH_SERVICE_NAME', 'OAUTH_USE_TOKEN', 'OAUTH_TOKEN_NAME',
        'OAUTH_REQUEST_TOKEN', 'OAUTH_REQUEST_TOKEN_SECRET',
        'OAUTH_RECEIVED_CALLBACK', 'NO_CACHE', 'ALIAS']),
    AuthorizationType: gadgets.util.makeEnum(['NONE', 'SIGNED', 'OAUTH', 'OAUTH2']),
    ContentType: gadgets.util.makeEnum(['TEXT', 'DOM', 'JSON', 'FEED']),
    MethodType: gadgets.util.makeEnum(['GET', 'POST', 'PUT', 'DELETE', 'HEAD']),
    ProxyUrlRequestParameters: gadgets.util.makeEnum(['REFRESH_INTERVAL'])
  };
})();
