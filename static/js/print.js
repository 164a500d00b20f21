// A "Print" button (data-print) opens the browser's print dialog; print.css lays out the paper.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
})();
