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
