// Passkeys (WebAuthn) for the forms marked `data-passkey`: asks the server for the ceremony's
// options with the form's CSRF token, lets the browser's authenticator answer them, and posts the
// form with the answer. Binary values travel as base64url, as the server reads and writes them.
(function () {
  "use strict";
  var OPTIONS = {
    register: "/account/passkeys/options",
    sign_in: "/login/passkey/options",
    second_step: "/login/second/passkey/options",
  };

  function toBuffer(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeIds(list) {
    (list || []).forEach(function (c) { c.id = toBuffer(c.id); });
  }

  function encode(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return out;
  }

  function show(form, message) {
    var p = form.querySelector(".error");
    p.textContent = message;
    p.hidden = false;
  }

  function ceremony(form) {
    var kind = form.getAttribute("data-passkey");
    var body = new URLSearchParams();
    body.set("csrf", form.elements.csrf.value);
    return fetch(OPTIONS[kind], { method: "POST", body: body, credentials: "same-origin" })
      .then(function (res) {
        return res.json().then(function (json) {
          if (!res.ok) throw new Error(json.error || "The server refused.");
          return json;
        });
      })
      .then(function (json) {
        form.elements.ceremony.value = json.ceremony;
        var pk = json.options.publicKey;
        pk.challenge = toBuffer(pk.challenge);
        if (kind === "register") {
          pk.user.id = toBuffer(pk.user.id);
          decodeIds(pk.excludeCredentials);
          return navigator.credentials.create({ publicKey: pk });
        }
        decodeIds(pk.allowCredentials);
        return navigator.credentials.get({ publicKey: pk });
      })
      .then(function (cred) {
        form.elements.credential.value = JSON.stringify(encode(cred));
        form.submit();
      });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!window.PublicKeyCredential) {
        show(form, "This browser does not support passkeys.");
        return;
      }
      ceremony(form).catch(function (e) {
        show(form, e && e.name === "NotAllowedError"
          ? "No passkey was used: it was cancelled or took too long."
          : (e && e.message) || String(e));
      });
    });
  });
})();
