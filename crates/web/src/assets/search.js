// sipkit web: search as you type, the comparison form without a round trip,
// and the language choice on the static export's front page. Everything
// works without this script; it only saves round trips. It loads nothing but
// this site's own /{lang}/search-index.json.
//
// The search rules are those of crates/web/src/search.rs: every word of the
// query must match; digits match the start of the code (1000 for the whole
// code, 50 for a prefix); other words match the start of a word of the
// phrase or title (10) or else of the texts (1).
(function () {
  "use strict";

  function words(s) {
    return s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean).map(function (w) {
      return w.replace(/ё/g, "е");
    });
  }

  function hasPrefix(list, tok) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].lastIndexOf(tok, 0) === 0) return true;
    }
    return false;
  }

  function search(entries, q) {
    var toks = words(q);
    if (!toks.length) return [];
    var hits = [];
    entries.forEach(function (e) {
      var score = 0, num = String(e.c);
      for (var i = 0; i < toks.length; i++) {
        var t = toks[i];
        if (/^[0-9]+$/.test(t)) {
          if (num === t) score += 1000;
          else if (num.lastIndexOf(t, 0) === 0) score += 50;
          else return;
        } else if (hasPrefix(e.names, t)) score += 10;
        else if (hasPrefix(e.words, t)) score += 1;
        else return;
      }
      hits.push({ e: e, score: score });
    });
    hits.sort(function (a, b) { return b.score - a.score || a.e.c - b.e.c; });
    return hits;
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function item(lang, code, title, summary) {
    var li = el("li");
    var a = el("a");
    a.href = "/" + lang + "/" + code;
    a.appendChild(el("span", "code c" + String(code).charAt(0), String(code)));
    a.appendChild(document.createTextNode(" "));
    a.appendChild(el("span", "title", title));
    li.appendChild(a);
    if (summary) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "summary", summary));
    }
    return li;
  }

  function liveSearch(input) {
    var live = document.getElementById("live");
    if (!live) return;
    var lang = input.getAttribute("data-lang");
    var loading = null;
    function load() {
      if (!loading) {
        loading = fetch(input.getAttribute("data-index")).then(function (r) { return r.json(); }).then(function (list) {
          list.forEach(function (e) { e.names = e.n.split(" "); e.words = e.w.split(" "); });
          return list;
        });
      }
      return loading;
    }
    function render(q) {
      q = q.trim();
      if (!q) {
        document.body.classList.remove("is-searching");
        if (live.getAttribute("data-q") === "") live.textContent = "";
        return;
      }
      load().then(function (entries) {
        if (input.value.trim() !== q) return;
        var hits = search(entries, q);
        var frag = document.createDocumentFragment();
        var ol = el("ol", "codelist results");
        var n = /^[1-6][0-9][0-9]$/.test(q) && !hits.some(function (h) { return String(h.e.c) === q; }) ? 1 : 0;
        if (n) ol.appendChild(item(lang, q, "", ""));
        hits.forEach(function (h) { ol.appendChild(item(lang, h.e.c, h.e.t, h.e.s)); });
        n += hits.length;
        var count = n ? input.getAttribute("data-found").replace("{count}", String(n)) : input.getAttribute("data-none");
        frag.appendChild(el("p", "count", count));
        if (n) frag.appendChild(ol);
        live.textContent = "";
        live.appendChild(frag);
        document.body.classList.add("is-searching");
      }).catch(function () { /* the form still works without the script */ });
    }
    input.addEventListener("input", function () { render(input.value); });
    // The static export's search page: the query is in the URL, not in the page.
    var q = new URLSearchParams(location.search).get("q");
    if (q && live.getAttribute("data-q") === "") {
      input.value = q;
      render(q);
    }
  }

  function compareForms() {
    var forms = document.querySelectorAll("form.compare-form");
    Array.prototype.forEach.call(forms, function (f) {
      f.addEventListener("submit", function (ev) {
        var a = (f.elements.a.value || "").trim(), b = (f.elements.b.value || "").trim();
        if (!/^[1-6][0-9][0-9]$/.test(a) || !/^[1-6][0-9][0-9]$/.test(b)) return;
        var lang = f.getAttribute("action").split("/")[1];
        var x = Math.min(+a, +b), y = Math.max(+a, +b);
        ev.preventDefault();
        location.href = x === y ? "/" + lang + "/" + x : "/" + lang + "/compare/" + x + "-vs-" + y;
      });
    });
  }

  function chooseLanguage(list) {
    var links = list.querySelectorAll("a[hreflang]");
    var prefs = navigator.languages || [navigator.language || "en"];
    for (var i = 0; i < prefs.length; i++) {
      var primary = String(prefs[i]).toLowerCase().split("-")[0];
      for (var j = 0; j < links.length; j++) {
        if (links[j].getAttribute("hreflang") === primary) {
          location.replace(links[j].getAttribute("href"));
          return;
        }
      }
    }
    location.replace(links[0].getAttribute("href"));
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chooser = document.getElementById("choose-lang");
    if (chooser) chooseLanguage(chooser);
    var input = document.querySelector("input[data-index]");
    if (input) liveSearch(input);
    compareForms();
  });
})();
