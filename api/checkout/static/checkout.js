// The hosted checkout page (served by the engine; no third-party code, no inline script).
// Card data lives only in the inputs and the one confirm request body: never in a URL, in
// storage or in a log; the inputs are cleared once the request is sent.
"use strict";

(function () {
  const root = document.getElementById("checkout");
  const paymentId = root.dataset.paymentId;
  const clientSecret = root.dataset.clientSecret;
  const publishableKey = root.dataset.publishableKey;
  const returnUrl = root.dataset.returnUrl || "";
  const message = document.getElementById("message");
  const returnLink = document.getElementById("return-link");
  const FORMS = ["card", "upi", "netbanking", "wallet"];
  const LABELS = { card: "Card", upi: "UPI", netbanking: "Netbanking", wallet: "Wallet" };
  const BRAND_NAMES = {
    visa: "Visa", mastercard: "Mastercard", rupay: "RuPay", amex: "American Express",
    diners: "Diners Club", maestro: "Maestro",
  };
  let acceptedBrands = [];
  let busy = false;

  function show(text, kind) {
    message.textContent = text;
    message.className = kind || "";
  }

  function finish(status, target) {
    const ok = status === "succeeded" || status === "requires_capture";
    show(ok ? "Payment successful." : "Payment " + status.replace(/_/g, " ") + ".", ok ? "ok" : "bad");
    document.getElementById("choose").hidden = true;
    FORMS.forEach(function (name) { document.getElementById("form-" + name).hidden = true; });
    const destination = target || returnTo(status);
    if (destination) {
      returnLink.href = destination;
      returnLink.hidden = false;
      returnLink.focus();
      window.setTimeout(function () { window.location.assign(destination); }, 1500);
    }
  }

  // Where the customer goes back to: the merchant's return_url with payment_id and status, as
  // the gateway callback sends it (engine/services/checkout.py return_to).
  function returnTo(status) {
    if (!returnUrl) return "";
    const query = new URLSearchParams({ payment_id: paymentId, status: status }).toString();
    return returnUrl + (returnUrl.indexOf("?") >= 0 ? "&" : "?") + query;
  }

  // --- validation (the server checks all of it again) ------------------------------------
  function digits(value) { return value.replace(/[\s-]/g, ""); }

  function luhn(number) {
    let sum = 0;
    for (let i = 0; i < number.length; i++) {
      let d = number.charCodeAt(number.length - 1 - i) - 48;
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function brandOf(number) {
    if (/^4/.test(number)) return "visa";
    if (/^3[47]/.test(number)) return "amex";
    if (/^3(0[0-5]|[689])/.test(number)) return "diners";
    if (/^(508|60|65|81|82|353|356)/.test(number)) return "rupay";
    const p4 = parseInt(number.slice(0, 4), 10);
    if (/^5[1-5]/.test(number) || (p4 >= 2221 && p4 <= 2720)) return "mastercard";
    if (/^(50|5[6-9]|6)/.test(number)) return "maestro";
    return null;
  }

  function fieldError(id, text) {
    const input = document.getElementById(id);
    const slot = document.getElementById(id + "-error");
    if (slot) slot.textContent = text || "";
    input.setAttribute("aria-invalid", text ? "true" : "false");
    return !text;
  }

  function checkCard() {
    const number = digits(document.getElementById("card-number").value);
    const brand = brandOf(number);
    let numberError = "";
    if (!/^[0-9]{12,19}$/.test(number) || !luhn(number)) numberError = "Enter a valid card number.";
    else if (brand && acceptedBrands.indexOf(brand) < 0) numberError = "This card brand is not accepted here.";
    const expiry = document.getElementById("card-expiry").value.replace(/\s/g, "");
    const match = /^(\d{1,2})\/(\d{2}|\d{4})$/.exec(expiry);
    let expiryError = "";
    let month = 0, year = 0;
    if (!match) expiryError = "Enter the expiry as MM/YY.";
    else {
      month = parseInt(match[1], 10);
      year = parseInt(match[2], 10);
      if (year < 100) year += 2000;
      const now = new Date();
      const thisYear = now.getFullYear(), thisMonth = now.getMonth() + 1;
      if (month < 1 || month > 12) expiryError = "The month must be 01 to 12.";
      else if (year < thisYear || (year === thisYear && month < thisMonth)) expiryError = "This card has expired.";
      else if (year > thisYear + 20) expiryError = "Check the expiry year.";
    }
    const cvc = document.getElementById("card-cvc").value.trim();
    const cvcLength = brand === "amex" ? 4 : 3;
    const cvcError = new RegExp("^[0-9]{" + cvcLength + "}$").test(cvc) ? "" : "Enter the " + cvcLength + "-digit security code.";
    const ok = [fieldError("card-number", numberError), fieldError("card-expiry", expiryError), fieldError("card-cvc", cvcError)];
    if (ok.indexOf(false) >= 0) return null;
    const holder = document.getElementById("card-name").value.trim();
    const card = { number: number, exp_month: month, exp_year: year, cvc: cvc };
    if (holder) card.holder_name = holder;
    return { type: "card", card: card };
  }

  function checkUpi() {
    const vpa = document.getElementById("upi-vpa").value.trim();
    const ok = vpa.length <= 255 && /^[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z][a-zA-Z0-9]{1,64}$/.test(vpa);
    if (!fieldError("upi-vpa", ok ? "" : "Enter a UPI ID like name@bank.")) return null;
    return { type: "upi", upi: { vpa: vpa } };
  }

  function checkSelect(id, build) {
    const value = document.getElementById(id).value;
    if (!fieldError(id, value ? "" : "Choose one.")) return null;
    return build(value);
  }

  const CHECKS = {
    card: checkCard,
    upi: checkUpi,
    netbanking: function () {
      return checkSelect("nb-bank", function (v) { return { type: "netbanking", netbanking: { bank_code: v } }; });
    },
    wallet: function () {
      return checkSelect("wallet-provider", function (v) { return { type: "wallet", wallet: { provider: v } }; });
    },
  };

  // --- talking to the engine ---------------------------------------------------------------
  function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ Authorization: "Bearer " + publishableKey }, options.headers || {});
    options.credentials = "omit";
    options.cache = "no-store";
    return fetch(path, options);
  }

  function idempotencyKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "checkout-" + Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function clearCard() {
    ["card-number", "card-expiry", "card-cvc", "card-name"].forEach(function (id) {
      document.getElementById(id).value = "";
    });
  }

  async function poll() {
    const url = "/checkout/" + encodeURIComponent(paymentId) + "/status?client_secret=" + encodeURIComponent(clientSecret);
    for (let i = 0; i < 600; i++) {
      const response = await fetch(url, { credentials: "omit", cache: "no-store" });
      if (response.ok) {
        const state = await response.json();
        if (state.final) return finish(state.status, state.return_to);
        if (state.status === "requires_action" && state.redirect_url) {
          show("Taking you to your bank…", "");
          return window.location.assign(state.redirect_url);
        }
        if (state.status === "requires_payment_method") {
          busy = false;
          enableButtons(true);
          document.getElementById("choose").hidden = false;
          return show(state.error || "The payment did not go through. Try again or choose another method.", "bad");
        }
      }
      await new Promise(function (resolve) { window.setTimeout(resolve, 1000); });
    }
    show("Still waiting for your bank. You can close this page; the shop will be told.", "");
  }

  function enableButtons(on) {
    document.querySelectorAll(".method-form button").forEach(function (b) { b.disabled = !on; });
  }

  async function submit(kind, event) {
    event.preventDefault();
    if (busy) return;
    const method = CHECKS[kind]();
    if (!method) return;
    busy = true;
    enableButtons(false);
    show("Processing…", "");
    const body = JSON.stringify({ payment_method: method, client_secret: clientSecret });
    if (kind === "card") clearCard();
    let response;
    try {
      response = await api("/v1/payments/" + encodeURIComponent(paymentId) + "/confirm", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey() },
        body: body,
      });
    } catch (e) {
      busy = false;
      enableButtons(true);
      return show("Network problem. Check your connection and try again.", "bad");
    }
    const answer = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      busy = false;
      enableButtons(true);
      const error = answer.error || {};
      return show(error.message || "The payment could not be completed.", "bad");
    }
    if (answer.status === "requires_action" && answer.next_action && answer.next_action.redirect_url) {
      show("Taking you to your bank…", "");
      return window.location.assign(answer.next_action.redirect_url);
    }
    if (answer.status === "processing") {
      show(kind === "upi" ? "Approve the request in your UPI app…" : "Waiting for confirmation…", "");
      return poll();
    }
    if (answer.status === "requires_payment_method") {
      busy = false;
      enableButtons(true);
      return show((answer.last_error && answer.last_error.message) || "The payment did not go through.", "bad");
    }
    finish(answer.status, null);
  }

  // --- the method list ---------------------------------------------------------------------
  function choose(kind) {
    FORMS.forEach(function (name) { document.getElementById("form-" + name).hidden = name !== kind; });
    show("", "");
  }

  function option(select, value, text) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    select.appendChild(o);
  }

  function render(methods) {
    const list = document.getElementById("method-list");
    methods.forEach(function (m, index) {
      const label = document.createElement("label");
      label.className = "method";
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "method";
      input.value = m.type;
      input.id = "method-" + m.type;
      input.addEventListener("change", function () { choose(m.type); });
      label.appendChild(input);
      label.appendChild(document.createTextNode(LABELS[m.type] || m.type));
      list.appendChild(label);
      if (index === 0) { input.checked = true; }
      if (m.type === "card") {
        acceptedBrands = m.brands || [];
        document.getElementById("card-brands").textContent =
          "Accepted: " + acceptedBrands.map(function (b) { return BRAND_NAMES[b] || b; }).join(", ");
      }
      if (m.type === "netbanking") {
        const select = document.getElementById("nb-bank");
        option(select, "", "Choose your bank");
        (m.banks || []).forEach(function (b) { option(select, b.code, b.name); });
      }
      if (m.type === "wallet") {
        const select = document.getElementById("wallet-provider");
        option(select, "", "Choose your wallet");
        (m.providers || []).forEach(function (p) { option(select, p, p.charAt(0).toUpperCase() + p.slice(1)); });
      }
    });
    document.getElementById("choose").hidden = methods.length === 0;
    if (methods.length) choose(methods[0].type);
    else show("No payment method is available for this payment right now.", "bad");
  }

  async function start() {
    FORMS.forEach(function (kind) {
      document.getElementById("form-" + kind).addEventListener("submit", function (e) { submit(kind, e); });
    });
    const status = root.dataset.status;
    if (root.dataset.confirmable !== "true") {
      if (status === "processing" || status === "requires_action") { show("Waiting for confirmation…", ""); return poll(); }
      return finish(status, null);
    }
    const url = "/v1/payments/" + encodeURIComponent(paymentId) + "/payment_methods?client_secret=" + encodeURIComponent(clientSecret);
    try {
      const response = await api(url);
      if (!response.ok) throw new Error("methods " + response.status);
      render((await response.json()).data || []);
    } catch (e) {
      show("This checkout could not load its payment methods. Reload to try again.", "bad");
    }
  }

  start();
})();
