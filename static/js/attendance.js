// Door tablet roster: with htmx each tap saves at once (hx-post on each student's fieldset).
// Without this file, or when a tap fails, the plain form's Save button posts every mark: nothing is lost.
(() => {
  const form = document.getElementById("roster-form");
  if (!form || !window.htmx) return;

  // Poor Wi-Fi at the door: give up on a tap after 10 s instead of spinning forever.
  htmx.config.timeout = 10000;

  const texts = form.dataset;
  const banner = document.getElementById("roster-connection");
  const rowOf = (elt) => (elt && elt.closest ? elt.closest("[data-roster-row]") : null);

  const setState = (row, message, className) => {
    const state = row.querySelector(".roster-state");
    if (!state) return;
    const span = document.createElement("span");
    span.className = className;
    span.textContent = message;
    state.replaceChildren(span);
  };

  const refreshBanner = () => {
    if (banner) banner.hidden = !form.querySelector(".roster-row.is-failed");
  };

  const fail = (row, message) => {
    row.classList.remove("is-saved");
    row.classList.add("is-failed");
    setState(row, message, "text-danger fw-semibold");
    refreshBanner();
  };

  form.addEventListener("htmx:beforeRequest", (event) => {
    const row = rowOf(event.detail.elt);
    if (!row) return;
    row.classList.remove("is-failed", "is-saved");
    setState(row, texts.textSaving, "text-secondary");
  });

  form.addEventListener("htmx:beforeSwap", (event) => {
    const row = rowOf(event.detail.elt);
    if (!row) return;
    // Only our own row fragment may replace a row: not a login page after a session ran out, nor a Wi-Fi portal.
    if (!event.detail.xhr.getResponseHeader("X-Attendance-Row")) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      fail(row, texts.textUnexpected);
      return;
    }
    if (event.detail.xhr.status === 400) {
      // A refusal (not on the roster, class canceled…): the fragment says why.
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  for (const name of ["htmx:sendError", "htmx:timeout", "htmx:responseError"]) {
    form.addEventListener(name, (event) => {
      const row = rowOf(event.detail.elt);
      if (row) fail(row, texts.textFailed);
    });
  }

  form.addEventListener("htmx:afterSettle", refreshBanner);
})();
