// Door tablet roster: a tap survives bad Wi-Fi. Each tap is kept in this browser (localStorage, in order, so it
// survives a reload) and sent at once, or as soon as the connection is back; the toolbar says "Waiting to send (3)".
// The server takes each tap once (its id) and refuses, with the reason on the row, a tap for a mark or a roster that
// changed meanwhile. A tap the server can never take (404: the class is gone; 403: this user may no longer mark) is
// dropped with the reason on its row, so it does not hold up the queue. Each session keeps its own queue. Without this
// file the form's Save button posts every mark: nothing is lost either way.
(() => {
  const form = document.getElementById("roster-form");
  if (!form || !window.fetch || !window.localStorage || !window.URLSearchParams) return;

  const KEY = `dance-portal:attendance-taps:${form.dataset.session}`;
  // Before queues were per session, every session's taps shared one queue: move this session's taps over.
  const LEGACY_KEY = "dance-portal:attendance-taps";
  const TIMEOUT_MS = 10000; // poor Wi-Fi at the door: give up on a request after 10 s and try again later
  const RETRY_MS = 5000;
  const texts = form.dataset;
  const queueStatus = document.getElementById("roster-queue");
  const notice = document.getElementById("roster-notice");

  // --- the queue: [{id, url, student, status, was}], oldest first ---------------------------------------------------
  const load = () => {
    try {
      const taps = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(taps) ? taps : [];
    } catch (error) {
      return [];
    }
  };
  const store = (taps) => localStorage.setItem(KEY, JSON.stringify(taps));
  const drop = (id) => store(load().filter((tap) => tap.id !== id));

  const adoptLegacyTaps = () => {
    let legacy;
    try {
      legacy = JSON.parse(localStorage.getItem(LEGACY_KEY) || "[]");
    } catch (error) {
      legacy = [];
    }
    if (!Array.isArray(legacy) || !legacy.length) return;
    const path = new URL(form.action, location.href).pathname; // the roster's URL; its taps' URLs start with it
    const ours = legacy.filter((tap) => tap && typeof tap.url === "string" && tap.url.startsWith(path));
    if (!ours.length) return;
    store([...load(), ...ours]);
    const rest = legacy.filter((tap) => !ours.includes(tap));
    if (rest.length) localStorage.setItem(LEGACY_KEY, JSON.stringify(rest));
    else localStorage.removeItem(LEGACY_KEY);
  };

  const newId = () => {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };

  // --- the page ------------------------------------------------------------------------------------------------------
  const rowFor = (url) => {
    const fieldset = form.querySelector(`[data-mark-url="${CSS.escape(url)}"]`);
    return fieldset ? fieldset.closest("[data-roster-row]") : null;
  };

  const setState = (row, message, className) => {
    const state = row.querySelector(".roster-state");
    if (!state) return;
    const span = document.createElement("span");
    span.className = className;
    span.textContent = message;
    state.replaceChildren(span);
  };

  const showWaiting = (row, tap) => {
    const input = row.querySelector(`input.btn-check[value="${CSS.escape(tap.status)}"]`);
    if (input) input.checked = true;
    row.classList.remove("is-saved", "is-failed");
    row.classList.add("is-pending");
    setState(row, texts.textWaiting, "text-warning-emphasis fw-semibold");
  };

  // Rows with taps still queued show the last one as waiting to send.
  const showQueue = () => {
    const taps = load();
    const last = new Map(taps.map((tap) => [tap.url, tap]));
    for (const [url, tap] of last) {
      const row = rowFor(url);
      if (row) showWaiting(row, tap);
    }
    if (queueStatus) {
      queueStatus.hidden = taps.length === 0;
      queueStatus.textContent = taps.length
        ? texts.textQueue.replace("%s", taps.length) + (navigator.onLine ? "" : ` · ${texts.textOffline}`)
        : "";
    }
  };

  // Our answer to a tap: the student's row (saved, or refused with the reason) and the marked count.
  const swapIn = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html;
    for (const fresh of template.content.querySelectorAll("[data-roster-row], #marked-count")) {
      fresh.removeAttribute("hx-swap-oob");
      const current = document.getElementById(fresh.id);
      if (current) current.replaceWith(fresh);
    }
  };

  const csrfToken = () => {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  };

  // --- sending, one tap at a time, in order ----------------------------------------------------------------------------
  let sending = false;
  let retry = null;

  const send = async (tap) => {
    const body = new URLSearchParams();
    body.set(`mark-${tap.student}`, tap.status);
    body.set("tap", tap.id);
    body.set("was", tap.was || "");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      return await fetch(tap.url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Attendance-Tap": tap.id },
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  };

  const flush = async () => {
    if (sending) return;
    clearTimeout(retry);
    if (!navigator.onLine) {
      // Known to be offline: nothing to try until the "online" event (or the next retry, should it be missed).
      showQueue();
      if (load().length) retry = setTimeout(flush, RETRY_MS);
      return;
    }
    sending = true;
    try {
      for (let tap = load()[0]; tap; tap = load()[0]) {
        const row = rowFor(tap.url);
        if (row) setState(row, texts.textSaving, "text-secondary");
        let response;
        try {
          response = await send(tap);
        } catch (error) {
          break; // offline or timed out: it stays queued
        }
        // The class is gone or this user may no longer mark it: sending it again would never work.
        if (response.status === 404 || response.status === 403) {
          drop(tap.id);
          const message = response.status === 404 ? texts.textGone : texts.textForbidden;
          if (row) {
            // Show the mark that is stored, not the one that was never saved.
            for (const input of row.querySelectorAll("input.btn-check")) input.checked = input.value === row.dataset.saved;
            row.classList.remove("is-pending", "is-saved");
            row.classList.add("is-failed");
            setState(row, message, "text-danger fw-semibold");
          }
          if (notice) {
            notice.textContent = message;
            notice.hidden = false;
          }
          continue;
        }
        // Only our own row answers a tap: not a login page after a session ran out, a Wi-Fi portal or an error page.
        if (!response.headers.get("X-Attendance-Row")) {
          if (row) setState(row, texts.textUnexpected, "text-danger fw-semibold");
          break;
        }
        const html = await response.text();
        drop(tap.id); // saved, saved before, or refused for good: either way this tap is done
        if (row) swapIn(html);
      }
    } finally {
      sending = false;
      showQueue();
      if (load().length) retry = setTimeout(flush, RETRY_MS);
    }
  };

  form.addEventListener("change", (event) => {
    const input = event.target;
    const fieldset = input.closest ? input.closest("[data-mark-url]") : null;
    if (!fieldset || !input.matches("input.btn-check")) return;
    const row = fieldset.closest("[data-roster-row]");
    const url = fieldset.dataset.markUrl;
    const taps = load();
    const earlier = taps.filter((tap) => tap.url === url);
    // The mark the tablet shows before this tap: the last one still queued, or the one saved.
    const was = earlier.length ? earlier[earlier.length - 1].status : row.dataset.saved || "";
    const tap = { id: newId(), url, student: row.dataset.student, status: input.value, was };
    store([...taps, tap]);
    showWaiting(row, tap);
    showQueue();
    flush();
  });

  adoptLegacyTaps();
  window.addEventListener("online", flush);
  window.addEventListener("offline", showQueue);
  showQueue();
  flush();
})();
