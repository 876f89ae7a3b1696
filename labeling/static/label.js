// Keyboard shortcuts for the labeling page: each choice button names its key in data-key
// (1/2/3/4/s for pairs, k/d/s for documents); R focuses the rationale box, Esc leaves it; U undoes the last
// label (the undo form), N starts or resumes (the start page's form). Keys typed into a text box are text,
// never shortcuts. One submit per page: a second key press is ignored.
(function () {
  "use strict";
  var pageForms = { u: "undo-form", n: "next-form" };

  function submitOnce(target, button) {
    if (typeof target.requestSubmit === "function") {
      target.requestSubmit(button || undefined);
    } else if (button) {
      button.click();
    } else {
      target.submit();
    }
  }

  var form = document.getElementById("label-form");
  if (!form) {
    document.addEventListener("keydown", function (event) {
      var key = (event.key || "").toLowerCase();
      var target = pageForms[key] && document.getElementById(pageForms[key]);
      if (target && !event.ctrlKey && !event.metaKey && !event.altKey && !typingInto(event.target)) {
        event.preventDefault();
        submitOnce(target, null);
      }
    });
    return;
  }
  var sent = false;
  form.addEventListener("submit", function () {
    sent = true;
  });

  function typingInto(element) {
    if (!element || !element.tagName) {
      return false;
    }
    var tag = element.tagName.toUpperCase();
    return tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT" || element.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (typingInto(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    var key = (event.key || "").toLowerCase();
    if (key === "u") {
      var undo = document.getElementById("undo-form");
      if (undo && !sent) {
        event.preventDefault();
        sent = true;
        submitOnce(undo, null);
      }
      return;
    }
    if (key === "r") {
      var box = document.getElementById("rationale");
      if (box) {
        event.preventDefault();
        box.focus();
      }
      return;
    }
    var buttons = form.querySelectorAll("button[data-key]");
    for (var index = 0; index < buttons.length; index += 1) {
      var button = buttons[index];
      if (button.getAttribute("data-key") === key) {
        event.preventDefault();
        if (sent) {
          return;
        }
        sent = true;
        button.classList.add("pressed");
        submitOnce(form, button);
        return;
      }
    }
  });
})();
