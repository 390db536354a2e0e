// The Gatehouse console's script. Every page works without it; it adds search as you type,
// add/remove list editors over the plain text areas, copy buttons and confirmation dialogs.
"use strict";
(function () {
  // Search as you type: re-fetch the page for the form's query and swap the results region.
  document.querySelectorAll("form[data-live-search]").forEach(function (form) {
    var target = document.getElementById(form.getAttribute("data-live-search"));
    var timer = null;
    var seq = 0;
    form.querySelectorAll("input[type=search]").forEach(function (input) {
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
          var mine = ++seq;
          fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
            if (mine !== seq || !target) { return; }
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById(target.id);
            if (fresh) { target.replaceWith(fresh); target = fresh; bind(fresh); }
            history.replaceState(null, "", url);
          });
        }, 200);
      });
    });
  });

  // List editors: the text area (one value a line) stays the form field; the list edits it.
  document.querySelectorAll("textarea[data-list]").forEach(function (area) {
    var label = document.querySelector("label[for='" + area.id + "']");
    var name = label ? label.textContent.trim() : area.name;
    var box = document.createElement("div");
    box.className = "list-editor";
    var list = document.createElement("ul");
    var add = document.createElement("div");
    add.className = "add";
    var input = document.createElement("input");
    input.type = "text";
    input.id = area.id + "-new";
    input.setAttribute("aria-label", "New entry for " + name);
    ["aria-invalid", "aria-describedby"].forEach(function (a) {
      if (area.hasAttribute(a)) { input.setAttribute(a, area.getAttribute(a)); }
    });
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = "Add";
    button.id = area.id + "-add";
    add.append(input, button);
    box.append(list, add);
    area.hidden = true;
    area.after(box);
    function values() { return area.value.split("\n").map(function (v) { return v.trim(); }).filter(Boolean); }
    function render() {
      list.replaceChildren();
      values().forEach(function (v, i) {
        var li = document.createElement("li");
        var text = document.createElement("span");
        text.className = "mono";
        text.textContent = v;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", "Remove " + v);
        remove.addEventListener("click", function () {
          var all = values();
          all.splice(i, 1);
          area.value = all.join("\n");
          render();
          input.focus();
        });
        li.append(text, remove);
        list.append(li);
      });
    }
    function push() {
      var v = input.value.trim();
      if (!v) { return; }
      area.value = values().concat([v]).join("\n");
      input.value = "";
      render();
      input.focus();
    }
    button.addEventListener("click", push);
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); push(); } });
    render();
  });

  // Copy buttons: copy the text of the element they name.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      var text = el ? el.textContent.trim() : "";
      var done = function () { b.textContent = "Copied"; };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(done, function () { select(el); });
      } else {
        select(el);
      }
    });
  });
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(range);
  }

  function bind(root) {
    // Confirmation links open the page's dialog instead of the confirmation page.
    root.querySelectorAll("a[data-confirm]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        var dialog = document.getElementById(a.getAttribute("data-confirm"));
        if (!dialog || !dialog.showModal) { return; }
        e.preventDefault();
        dialog.querySelector("[data-name]").textContent = a.getAttribute("data-name");
        dialog.querySelector("form").action = a.getAttribute("data-action");
        var menu = a.closest("details");
        if (menu) { menu.open = false; }
        dialog.showModal();
      });
    });
  }
  bind(document);
  document.querySelectorAll("dialog button[data-close]").forEach(function (b) {
    b.addEventListener("click", function () { b.closest("dialog").close(); });
  });

  // An open row menu closes on a click elsewhere or Escape.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) { if (!d.contains(e.target)) { d.open = false; } });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    document.querySelectorAll("details.menu[open]").forEach(function (d) { d.open = false; d.querySelector("summary").focus(); });
  });
})();

// Offline access and the refresh_token grant are one setting: keep the two boxes together.
(function () {
  var offline = document.getElementById("offline_access");
  var refresh = document.querySelector("input[name=grant_types][value=refresh_token]");
  if (!offline || !refresh) { return; }
  offline.addEventListener("change", function () { refresh.checked = offline.checked; });
  refresh.addEventListener("change", function () { offline.checked = refresh.checked; });
})();
