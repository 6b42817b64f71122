// Progressive enhancement only: every page works without this file.
document.documentElement.classList.remove("no-js");

// Copy buttons: <button data-copy="value">. The value is also shown as text next to the button.
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "position-fixed top-0 start-0 opacity-0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  copyText(button.dataset.copy).then(() => {
    const label = button.textContent;
    button.textContent = button.dataset.copied || "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  }, () => {});
});

// Registration form: the class date matters only for a drop-in, so show it only then.
(function () {
  const select = document.querySelector("select[data-drop-in-only]");
  if (!select) return;
  const wrapper = select.closest(".class-date-field") || select.parentElement;
  const form = select.form;
  function update() {
    const chosen = form.querySelector("input[name='pricing_type']:checked");
    wrapper.hidden = !(chosen && chosen.value === "drop_in");
  }
  form.addEventListener("change", (event) => {
    if (event.target.name === "pricing_type") update();
  });
  update();
})();
