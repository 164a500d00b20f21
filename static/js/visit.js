// Visit form: autosave to the server draft, offline-safe; carry-forward keep/clear; one submit.
// Nothing is kept in localStorage or IndexedDB: the page holds the input until the server has it.
(function () {
  "use strict";

  const form = document.querySelector("form[data-autosave]");
  if (!form) return;
  const statusBox = form.querySelector("[data-save-status]");
  const versionInput = form.querySelector("[data-version]");
  const conflictBox = form.querySelector("[data-conflict]");
  const submitButton = form.querySelector("[data-submit]");
  const url = form.dataset.autosave;
  // The status follows the therapist down the form: it moves beside Save visit, in the sticky bar.
  const bar = submitButton.closest(".sticky-actions");
  if (bar) bar.prepend(statusBox);
  let dirty = false;
  let saving = false;
  let blocked = false; // a conflict waits for the user's choice
  let timer = null;

  function say(text) { statusBox.textContent = text; }

  function hhmm(iso) {
    const d = iso ? new Date(iso) : new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function body() {
    return new URLSearchParams(new FormData(form));
  }

  // A tap on Save visit while changes are unsaved first saves the draft, then submits: if the
  // connection has dropped, the page (and the input) stays instead of ending on an error page.
  let submitAfterSave = false;
  const OFFLINE = "Offline - will save when back";
  const KEPT_OFFLINE = "Offline - your visit is kept on this page; tap Save visit again when back online";

  async function save(keepalive) {
    if (saving || blocked || !dirty) return;
    if (!navigator.onLine) { say(submitAfterSave ? KEPT_OFFLINE : OFFLINE); submitAfterSave = false; return; }
    saving = true;
    dirty = false;
    let saved = false;
    try {
      const response = await fetch(url, {
        method: "POST", body: body(), credentials: "same-origin", keepalive: Boolean(keepalive),
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
        // A change made while this save was on its way is not in it.
        say(dirty ? "Unsaved changes…" : "Saved at " + hhmm(data.saved_at));
      } else if (response.status === 401) {
        dirty = true;
        blocked = true;
        say("Logged out after a pause - your input is still on this page. Log in again in a new tab, then come back and tap Save visit.");
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
        say("Not saved - will retry");
      }
    } catch (error) {
      dirty = true;
      say(submitAfterSave ? KEPT_OFFLINE : OFFLINE);
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
    const keep = document.createElement("button");
    keep.type = "button";
    keep.className = "button primary";
    keep.textContent = "Keep my version";
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
    reload.textContent = "Show their version";
    reload.addEventListener("click", function () { window.location.reload(); });
    conflictBox.append(keep, reload);
    conflictBox.scrollIntoView({ block: "nearest" });
    say("Not saved: someone else changed this visit");
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  }

  function changed() {
    dirty = true;
    say("Unsaved changes…");
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
      say(KEPT_OFFLINE);
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
  window.addEventListener("offline", function () { say(OFFLINE); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && dirty) save(true);
  });
  setInterval(function () { if (dirty) save(); }, 5000);
  form.querySelectorAll(".field.mas").forEach(function (row) {
    const carried = row.dataset.carried;
    const choice = carried && row.querySelector("input[type=radio][value='" + CSS.escape(carried) + "']");
    if (choice) choice.closest(".choice").classList.add("carried-choice");
    markRow(row);
  });
})();
