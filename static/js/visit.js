// Visit form: autosave to the server draft, offline-safe; carry-forward keep/clear; one submit.
// Nothing of the patient is kept in the browser's storage: the page holds the input until the
// server has it. Two cookies hold no patient data: the server's last save time (for the offline
// page) and, for ten seconds as the page is left, the version a last save was sent from.
(function () {
  "use strict";

  const form = document.querySelector("form[data-autosave]");
  if (!form) return;
  const statusBox = form.querySelector("[data-save-status]");
  const versionInput = form.querySelector("[data-version]");
  const conflictBox = form.querySelector("[data-conflict]");
  const submitButton = form.querySelector("[data-submit]");
  const url = form.dataset.autosave;
  const draftPath = new URL(url, window.location.href).pathname.replace(/\/autosave$/, "");
  // The status follows the therapist down the form: it moves beside Review and sign, in the sticky bar.
  const bar = submitButton.closest(".sticky-actions");
  if (bar) bar.prepend(statusBox);
  let dirty = false;
  let saving = false;
  let blocked = false; // a conflict waits for the user's choice
  let timer = null;

  // This page's edit session: its saves are its own, never "someone else's" (see autosave.py).
  const session = document.createElement("input");
  session.type = "hidden";
  session.name = "edit_session";
  session.value = Array.from(crypto.getRandomValues(new Uint8Array(16)), function (b) {
    return b.toString(16).padStart(2, "0");
  }).join("");
  form.append(session);

  function cookie(name, value, maxAge) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=" + draftPath
      + "; samesite=strict" + (maxAge === undefined ? "" : "; max-age=" + maxAge);
  }
  cookie("spastic-pending-save", "", 0); // this page shows the newest draft: nothing is pending
  if (statusBox.dataset.savedAt) cookie("spastic-last-saved", statusBox.dataset.savedAt);

  function say(text) { statusBox.textContent = text; }

  function body() {
    return new URLSearchParams(new FormData(form));
  }

  // A tap on Review and sign while changes are unsaved first saves the draft, then submits: if the
  // connection has dropped, the page (and the input) stays instead of ending on an error page.
  let submitAfterSave = false;
  // Review and sign was tapped with no connection: until a save gets through, every "offline"
  // says so (a later autosave or the browser's offline event must not drop the instruction).
  let submitTriedOffline = false;
  function offlineText() { return submitTriedOffline ? KEPT_OFFLINE : OFFLINE; }
  const UNSAVED = "Changes not saved yet…";
  const OFFLINE = "Offline — changes kept on this page, not yet on the server";
  const KEPT_OFFLINE = "Offline — your visit is kept on this page, not yet on the server; tap Review and sign again when back online";

  async function save() {
    if (saving || blocked || !dirty) return;
    if (!navigator.onLine) {
      if (submitAfterSave) submitTriedOffline = true;
      submitAfterSave = false;
      say(offlineText());
      return;
    }
    saving = true;
    dirty = false;
    let saved = false;
    try {
      const response = await fetch(url, {
        method: "POST", body: body(), credentials: "same-origin",
        headers: { "Accept": "application/json" },
      });
      const data = await response.json().catch(function () { return {}; });
      if (response.status === 409 && data.conflict) {
        showConflict(data);
      } else if (response.ok && data.saved) {
        showFieldErrors({});
        versionInput.value = data.version;
        document.dispatchEvent(new CustomEvent("spastic:server-contact"));
        if (data.csrf_token) form.querySelector("[name=csrf_token]").value = data.csrf_token;
        saved = true;
        submitTriedOffline = false;
        cookie("spastic-last-saved", data.saved_at_local);
        // A change made while this save was on its way is not in it.
        say(dirty ? UNSAVED : data.status);
      } else if (response.status === 401) {
        dirty = true;
        blocked = true;
        say("Logged out after a pause - your input is still on this page, not on the server. Log in again in a new tab, then come back and tap Review and sign.");
        setTimeout(function () { blocked = false; }, 15000);
      } else if (response.status === 400 && data.csrf_expired) {
        form.querySelector("[name=csrf_token]").value = data.csrf_token;
        dirty = true;
        setTimeout(save, 100);
      } else if (response.status >= 400 && data.error) {
        // Refused as it is (too long, not a form): retrying the same input would not help.
        dirty = true;
        showFieldErrors(data.field_errors || {});
        say("Not saved: " + data.error);
      } else if (response.ok && data.visit_url) {
        window.location.assign(data.visit_url);
      } else {
        dirty = true;
        say("Not saved on the server yet - will retry; your changes are kept on this page");
      }
    } catch (error) {
      dirty = true;
      if (submitAfterSave) submitTriedOffline = true;
      say(offlineText());
    } finally {
      saving = false;
    }
    if (saved && dirty) {
      if (submitAfterSave) save(); else schedule();
    } else if (submitAfterSave) {
      submitAfterSave = false;
      if (saved) form.requestSubmit(submitButton);
    }
  }

  // The page is being left (reload, closed tab, another page) with changes the server does not
  // have: send them with keepalive, so the request outlives the page, even while an ordinary
  // save is still on its way. The next page of this draft waits for it (the pending cookie).
  function saveAsLeaving() {
    if (blocked || submitButton.dataset.sent || !(dirty || saving) || !navigator.onLine) return;
    cookie("spastic-pending-save", draftPath.split("/").pop() + "." + versionInput.value, 10);
    dirty = false;
    fetch(url, {
      method: "POST", body: body(), credentials: "same-origin", keepalive: true,
      headers: { "Accept": "application/json" },
    }).then(async function (response) {
      // Still here (the tab was only hidden): take the answer as an ordinary save's.
      const data = await response.json().catch(function () { return {}; });
      if (response.status === 409 && data.conflict) { showConflict(data); return; }
      if (!(response.ok && data.saved)) { dirty = true; schedule(); return; }
      cookie("spastic-pending-save", "", 0);
      cookie("spastic-last-saved", data.saved_at_local);
      if (Number(data.version) > Number(versionInput.value)) versionInput.value = data.version;
      if (data.csrf_token) form.querySelector("[name=csrf_token]").value = data.csrf_token;
      if (!dirty && !saving) say(data.status);
    }).catch(function () { dirty = true; });
  }

  // The server's length limits, shown beside their fields as the field macro renders errors.
  function showFieldErrors(errors) {
    for (const box of form.querySelectorAll("[data-autosave-error]")) {
      const field = box.closest(".field");
      box.remove();
      if (field && !field.querySelector(".error")) {
        field.classList.remove("has-error");
        for (const input of field.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
      }
    }
    for (const [name, message] of Object.entries(errors)) {
      const field = document.getElementById(name + "-field");
      if (!field) continue;
      const box = document.createElement("p");
      box.className = "error";
      box.id = name + "-autosave-error";
      box.dataset.autosaveError = "";
      box.textContent = message;
      field.append(box);
      field.classList.add("has-error");
      const input = field.querySelector("[name='" + name + "']");
      if (input) {
        input.setAttribute("aria-invalid", "true");
        const described = (input.getAttribute("aria-describedby") || "").split(" ");
        if (!described.includes(box.id)) input.setAttribute("aria-describedby", [...described, box.id].join(" ").trim());
      }
    }
  }

  function showConflict(data) {
    blocked = true;
    conflictBox.hidden = false;
    conflictBox.replaceChildren();
    const heading = document.createElement("h2");
    heading.textContent = data.message;
    conflictBox.append(heading);
    const list = document.createElement("ul");
    for (const row of data.changes) {
      const item = document.createElement("li");
      item.textContent = row.label + ": saved " + row.theirs + ", yours " + row.yours;
      list.append(item);
    }
    conflictBox.append(list);
    const note = document.createElement("p");
    note.textContent = data.own
      ? "Your answers here are kept on this page; the other tab's are on the server. Choose one."
      : "Your answers are kept on this page; theirs are on the server. Choose one.";
    conflictBox.append(note);
    const keep = document.createElement("button");
    keep.type = "button";
    keep.className = "button primary";
    keep.textContent = data.own ? "Keep this tab's version" : "Keep my version";
    keep.addEventListener("click", function () {
      versionInput.value = data.version;
      blocked = false;
      dirty = true;
      conflictBox.hidden = true;
      save();
    });
    const reload = document.createElement("button");
    reload.type = "button";
    reload.className = "button";
    reload.textContent = data.own ? "Show the other tab's version" : "Show their version";
    reload.addEventListener("click", function () { blocked = false; dirty = false; window.location.reload(); });
    conflictBox.append(keep, reload);
    conflictBox.scrollIntoView({ block: "nearest" });
    say(data.own ? "Not saved: this visit has other answers from another tab" : "Not saved: someone else changed this visit");
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  }

  function changed() {
    dirty = true;
    say(UNSAVED);
    schedule();
  }

  // Carry-forward: each carried row is kept, cleared or changed; the state travels in a hidden input.
  function rowOf(element) { return element.closest(".field.mas"); }

  function setCarry(row, state) {
    const input = row.querySelector("[data-carry-state]");
    if (input && row.dataset.carried) input.value = state;
    markRow(row);
  }

  function markRow(row) {
    const carried = row.dataset.carried;
    const checked = row.querySelector("input[type=radio]:checked");
    const state = row.querySelector("[data-carry-state]");
    row.classList.toggle("changed-today", Boolean(carried) && (!checked || checked.value !== carried) && state.value !== "pending");
    row.classList.toggle("kept", Boolean(carried) && state.value === "kept" && checked && checked.value === carried);
    row.classList.toggle("pending", Boolean(carried) && state.value === "pending");
  }

  form.addEventListener("click", function (event) {
    // Tapping the grade already carried (and still selected) keeps it, like Keep.
    const radio = event.target.closest(".field.mas input[type=radio]");
    if (radio && radio.checked && radio.value === rowOf(radio).dataset.carried
        && rowOf(radio).classList.contains("pending")) {
      setCarry(rowOf(radio), "kept");
      changed();
      return;
    }
    const keep = event.target.closest("[data-keep]");
    const keepAll = event.target.closest("[data-keep-all]");
    if (keep) {
      const row = rowOf(keep);
      const radio = row.querySelector("input[type=radio][value='" + CSS.escape(row.dataset.carried) + "']");
      if (radio) radio.checked = true;
      setCarry(row, "kept");
      changed();
    } else if (keepAll) {
      let kept = 0;
      form.querySelectorAll(".field.mas.pending").forEach(function (row) {
        if (!row.closest("[hidden]")) { setCarry(row, "kept"); kept += 1; }
      });
      const status = form.querySelector("[data-keep-all-status]");
      if (status) status.textContent = kept === 1 ? "Kept 1 carried grade" : "Kept " + kept + " carried grades";
      changed();
    }
  });

  // choices.js emptied a group (Clear) or answered the side effects (No side effects).
  form.addEventListener("spastic:cleared", function (event) {
    if (event.target.matches(".field.mas")) setCarry(event.target, "cleared");
    changed();
  });
  form.addEventListener("spastic:choices-set", changed);

  form.addEventListener("change", function (event) {
    const row = rowOf(event.target);
    if (row && event.target.type === "radio") setCarry(row, "kept");
    if (event.target.name === "muscles") {
      const box = form.querySelector(".muscle-row[data-muscle='" + CSS.escape(event.target.value) + "']");
      if (box) box.hidden = !event.target.checked;
      countMuscles();
    }
    changed();
  });
  form.addEventListener("input", function (event) {
    if (event.target.type !== "radio" && event.target.type !== "checkbox") changed();
  });

  function countMuscles() {
    const summary = form.querySelector(".muscle-picker summary");
    const chosen = form.querySelectorAll("input[name=muscles]:checked").length;
    if (summary) summary.textContent = summary.textContent.replace(/\d+ of/, chosen + " of");
  }

  form.addEventListener("submit", function (event) {
    if (submitButton.dataset.sent) { event.preventDefault(); return; }
    if (!navigator.onLine) {
      event.preventDefault();
      submitTriedOffline = true;
      say(offlineText());
      return;
    }
    if ((saving || dirty) && !blocked) {
      event.preventDefault();
      submitAfterSave = true;
      save();
      return;
    }
    submitButton.dataset.sent = "1";
    submitButton.setAttribute("aria-disabled", "true");
    clearTimeout(timer);
  });


  window.addEventListener("online", function () { if (dirty) save(); });
  window.addEventListener("offline", function () { say(offlineText()); });
  // Hidden (another app, the tab switched, the page being left): save now, with keepalive.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveAsLeaving();
  });
  window.addEventListener("pagehide", saveAsLeaving);
  window.addEventListener("beforeunload", function (event) {
    if (submitButton.dataset.sent) return; // Review and sign is on its way
    saveAsLeaving();
    // Leaving now would lose words: the other version of a conflict not yet chosen, or
    // changes made offline. The browser asks "Leave site?" first.
    if (blocked || (dirty && !navigator.onLine)) event.preventDefault();
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { dirty = true; schedule(); } // back from the cache: check with the server
  });
  setInterval(function () { if (dirty) save(); }, 5000);
  form.querySelectorAll(".field.mas").forEach(function (row) {
    const carried = row.dataset.carried;
    const choice = carried && row.querySelector("input[type=radio][value='" + CSS.escape(carried) + "']");
    if (choice) choice.closest(".choice").classList.add("carried-choice");
    markRow(row);
  });
})();
