// A date field shows its date as the rest of the app prints dates ("1 Dec 2026") beside it:
// the browser's own picker follows the device's locale (12/01/2026 or 01/12/2026?).
(function () {
  "use strict";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function readable(value) {
    const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    if (!parts || Number(parts[2]) < 1 || Number(parts[2]) > 12) return "";
    return Number(parts[3]) + " " + MONTHS[Number(parts[2]) - 1] + " " + parts[1];
  }

  function attach(input) {
    const shown = document.createElement("span");
    shown.className = "hint date-read";
    shown.style.display = "block";
    shown.dataset.dateRead = "";
    shown.setAttribute("aria-hidden", "true"); // the field itself announces its value
    input.insertAdjacentElement("afterend", shown);
    function update() { shown.textContent = readable(input.value); }
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[type=date]").forEach(attach);
  });
})();
