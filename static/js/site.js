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

// Registration form: offer only what fits the chosen slot. Each slot's options and prices are in the form's
// data-options ({slot id: {pricing type: amount}}): a pricing type the slot lacks is hidden, the class-date list
// shows only the slot's own dates (and only for a drop-in), and a free choice hides the payment method.
(function () {
  const form = document.querySelector("form.registration-form[data-options]");
  if (!form) return;
  const options = JSON.parse(form.dataset.options || "{}");
  const dateSelect = form.querySelector("select[data-drop-in-only]");
  const dateWrapper = dateSelect && (dateSelect.closest(".class-date-field") || dateSelect.parentElement);
  const payment = form.querySelector(".payment-method-field");

  function chosen(name) {
    const input = form.querySelector(`input[name='${name}']:checked`);
    return input ? input.value : null;
  }

  function update() {
    const slot = chosen("slot");
    const prices = slot ? options[slot] || {} : null;
    form.querySelectorAll("input[name='pricing_type']").forEach((input) => {
      const fits = !prices || input.value in prices;
      input.closest(".form-check").hidden = !fits;
      if (!fits && input.checked) input.checked = false;
    });
    const pricing = chosen("pricing_type");
    if (dateSelect) {
      dateWrapper.hidden = pricing !== "drop_in";
      dateSelect.querySelectorAll("option[data-slot]").forEach((option) => {
        const fits = !slot || option.dataset.slot === slot;
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) dateSelect.value = "";
      });
      dateSelect.querySelectorAll("optgroup").forEach((group) => {
        group.hidden = !Array.from(group.querySelectorAll("option")).some((option) => !option.hidden);
      });
    }
    if (payment) {
      const free = prices && pricing && prices[pricing] !== undefined && Number(prices[pricing]) === 0;
      payment.hidden = Boolean(free);
    }
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "slot" || event.target.name === "pricing_type") update();
  });
  update();
})();
