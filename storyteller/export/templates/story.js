// Page-by-page reading: one page at a time, arrow keys and buttons to turn, the page in the URL
// hash so a link or a reload keeps your place. Without this script every page simply shows.
(function () {
  "use strict";
  var pages = Array.prototype.slice.call(document.querySelectorAll(".page"));
  if (!pages.length) { return; }
  document.documentElement.classList.add("paged");
  var counters = Array.prototype.slice.call(document.querySelectorAll(".counter"));
  var buttons = Array.prototype.slice.call(document.querySelectorAll(".pager button"));
  var current = -1;

  function indexOfHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    for (var i = 0; i < pages.length; i++) { if (pages[i].id === id) { return i; } }
    return -1;
  }

  function show(index, keepHash) {
    index = Math.max(0, Math.min(pages.length - 1, index));
    if (index === current) { return; }
    pages.forEach(function (page, i) {
      page.hidden = i !== index;
      if (i !== index) {
        var audio = page.querySelector("audio");
        if (audio) { audio.pause(); }
      }
    });
    current = index;
    counters.forEach(function (counter) { counter.textContent = "Page " + (index + 1) + " of " + pages.length; });
    // aria-disabled rather than disabled: a focused button keeps focus at either end.
    buttons.forEach(function (button) {
      var step = Number(button.getAttribute("data-step"));
      var end = step < 0 ? index === 0 : index === pages.length - 1;
      button.setAttribute("aria-disabled", end ? "true" : "false");
    });
    if (!keepHash && history.replaceState) { history.replaceState(null, "", "#" + pages[index].id); }
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      show(current + Number(button.getAttribute("data-step")));
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    // Arrow keys seek inside a focused audio player; leave them to it.
    if (target && (target.tagName === "AUDIO" || target.tagName === "INPUT" || target.isContentEditable)) { return; }
    if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
  });

  window.addEventListener("hashchange", function () {
    var index = indexOfHash();
    if (index >= 0) { show(index); }
  });

  // A link to another section (#characters) keeps its hash on load.
  show(Math.max(0, indexOfHash()), true);
})();

// Follow the narration: the line being spoken is highlighted, and in a photo scene so is the name
// tag of whoever says it (or, in a guided scene, of the thing it is about). Line timings come from the narration's record (data-lines).
(function () {
  "use strict";
  Array.prototype.slice.call(document.querySelectorAll("audio[data-lines]")).forEach(function (audio) {
    var lines;
    try { lines = JSON.parse(audio.getAttribute("data-lines")); } catch (error) { return; }
    if (!lines || !lines.length) { return; }
    var page = audio.closest(".page");
    var current = -1;
    function mark(index) {
      if (index === current) { return; }
      current = index;
      Array.prototype.slice.call(page.querySelectorAll(".speaking")).forEach(function (el) { el.classList.remove("speaking"); });
      if (index < 0) { return; }
      var spoken = page.querySelector('[data-line="' + index + '"]');
      if (spoken) { spoken.classList.add("speaking"); }
      var speaker = lines[index].speaker, about = lines[index].about;
      Array.prototype.slice.call(page.querySelectorAll(".tag")).forEach(function (tag) {
        if ((speaker && tag.getAttribute("data-speaker") === speaker) || (about && tag.getAttribute("data-about") === about)) {
          tag.classList.add("speaking");
        }
      });
    }
    function update() {
      var t = audio.currentTime, found = -1;
      for (var i = 0; i < lines.length; i++) { if (t >= lines[i].start && t < lines[i].end + 0.3) { found = i; break; } }
      mark(audio.paused && t === 0 ? -1 : found);
    }
    audio.addEventListener("timeupdate", update);
    audio.addEventListener("seeked", update);
    audio.addEventListener("ended", function () { mark(-1); });
  });
})();

// Background music (storyteller score): the button plays the current page's piece, looped, and
// lowers it while a narration plays. Off until the reader turns it on (browsers play sound only
// after a click). Without this script each piece has its own player.
(function () {
  "use strict";
  var tracks = Array.prototype.slice.call(document.querySelectorAll("audio.music"));
  var toggle = document.querySelector("button.music-toggle");
  if (!tracks.length || !toggle) { return; }
  var narrations = Array.prototype.slice.call(document.querySelectorAll(".page audio"));
  var on = false, BED = 0.35, DUCKED = 0.08;
  toggle.hidden = false;

  function shownPage() {
    var page = document.querySelector(".page:not([hidden])");
    return page ? page.id.replace("page-", "") : "1";
  }

  function update() {
    var number = shownPage(), want = null;
    if (on) {  // the cue of this page, or of the last page before it that has one (pages written after scoring)
      var best = -1;
      tracks.forEach(function (t) {
        var first = Number(t.getAttribute("data-pages").split(" ")[0]);
        if (first <= Number(number) && first > best) { best = first; want = t; }
      });
    }
    var speaking = narrations.some(function (a) { return !a.paused && !a.ended; });
    tracks.forEach(function (track) { if (track !== want) { track.pause(); } });
    if (want) {
      want.volume = speaking ? DUCKED : BED;
      if (want.paused) { var played = want.play(); if (played && played.catch) { played.catch(function () {}); } }
    }
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    toggle.textContent = on ? "Music: on" : "Music: off";
  }

  toggle.addEventListener("click", function () { on = !on; update(); });
  narrations.forEach(function (audio) {
    ["play", "pause", "ended"].forEach(function (name) { audio.addEventListener(name, update); });
  });
  // Turning a page (buttons, arrow keys, a link) changes which piece plays.
  document.addEventListener("click", function () { setTimeout(update, 0); });
  document.addEventListener("keyup", function () { setTimeout(update, 0); });
  window.addEventListener("hashchange", update);
})();
