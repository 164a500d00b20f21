// A "Print" button ([data-print]) prints the page as it is; a script file, because the CSP forbids inline handlers.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
})();
