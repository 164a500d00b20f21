// Radio groups of the visit and amendment forms: "Clear" empties a group (no answer can become a
// dead end) and "No side effects" answers every side-effect row with None in one tap.
// Each change is announced to the rest of the page by a bubbling event (visit.js autosaves on it).
(function () {
  "use strict";

  function announce(element, name, detail) {
    element.dispatchEvent(new CustomEvent(name, { bubbles: true, detail: detail || {} }));
  }

  document.addEventListener("click", function (event) {
    const clear = event.target.closest("[data-clear]");
    if (clear) {
      const group = clear.closest(".field");
      const chosen = group.querySelector("input[type=radio]:checked");
      group.querySelectorAll("input[type=radio]").forEach(function (radio) { radio.checked = false; });
      announce(group, "spastic:cleared", { was: chosen ? chosen.value : null });
      return;
    }
    const none = event.target.closest("[data-no-side-effects]");
    if (none) {
      const card = none.closest("section") || document;
      const rows = card.querySelectorAll(".field.side-effect");
      const real = [];
      rows.forEach(function (row) {
        const chosen = row.querySelector("input[type=radio]:checked");
        if (chosen && chosen.value !== "none") real.push(row.querySelector("legend").textContent + " was " + chosen.value);
        const radio = row.querySelector("input[type=radio][value=none]");
        if (radio) radio.checked = true;
      });
      const status = card.querySelector("[data-no-side-effects-status]");
      if (status) {
        status.textContent = "All " + rows.length + " set to none" + (real.length ? " (" + real.join(", ") + ")" : "");
      }
      announce(none, "spastic:choices-set");
    }
  });
})();
