// The hosted payment page's form (paycore.edge.pages). The card goes to paycore's tokenization
// route only, with the merchant's publishable key; the payment intent is then confirmed with
// its client_secret. No third-party script, no inline script (the page's CSP forbids both).
"use strict";

(function () {
  const form = document.getElementById("pay");
  if (!form) {
    return;
  }
  const key = form.dataset.publishableKey;
  const clientSecret = form.dataset.clientSecret;
  const intent = form.dataset.paymentIntent;
  const successUrl = form.dataset.successUrl;
  const authenticating = form.dataset.authenticating === "true";
  const number = document.getElementById("card-number");
  const expiry = document.getElementById("card-expiry");
  const cvc = document.getElementById("card-cvc");
  // A guest's email and name (absent for a session of a customer): the card's billing
  // details, which the session shows as who paid.
  const email = document.getElementById("buyer-email");
  const name = document.getElementById("buyer-name");
  const error = document.getElementById("pay-error");
  const button = document.getElementById("pay-button");
  const label = button.textContent;
  // The page's words in its language (paycore.edge.checkout_texts), and a decline's words by
  // its decline_code or code (none on an English page: the API's own message is told).
  const texts = JSON.parse(form.dataset.texts || "{}");
  const declines = texts.declines || {};

  function declineMessage(failure) {
    return declines[failure.decline_code] || declines[failure.code] || failure.message;
  }

  function show(message) {
    error.textContent = message;
  }

  function busy(on) {
    button.disabled = on;
    button.textContent = on ? texts.processing_button : label;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  function randomKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function post(path, fields, idempotencyKey) {
    const response = await fetch(path, {
      method: "POST",
      headers: {
        Authorization: "Bearer " + key,
        "Content-Type": "application/x-www-form-urlencoded",
        "Idempotency-Key": idempotencyKey,
      },
      body: new URLSearchParams(fields),
      credentials: "omit",
      cache: "no-store",
    });
    let body = {};
    try {
      body = await response.json();
    } catch (ignored) {
      body = { error: { message: "paycore answered " + response.status } };
    }
    return { ok: response.ok, status: response.status, body: body };
  }

  function expiryParts(text) {
    const digits = text.replace(/\D/g, "");
    if (digits.length !== 4 && digits.length !== 6) {
      return null;
    }
    const month = Number(digits.slice(0, 2));
    const year = digits.length === 4 ? "20" + digits.slice(2) : digits.slice(2);
    if (month < 1 || month > 12) {
      return null;
    }
    return { month: String(month), year: year };
  }

  // The Luhn check digit: a mistyped number is told at once, without a round trip.
  function luhnValid(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i += 1) {
      let digit = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) {
        digit *= 2;
        if (digit > 9) {
          digit -= 9;
        }
      }
      sum += digit;
    }
    return sum % 10 === 0;
  }

  function expired(exp) {
    const now = new Date();
    const year = Number(exp.year);
    const month = Number(exp.month);
    return year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1);
  }

  // What a buyer is told when paycore's tokenization route refuses the card (its `code`), and
  // the field to fix; the API's own message names request fields a buyer never saw.
  const REFUSALS = {
    invalid_number: [texts.invalid_number, number],
    incorrect_number: [texts.invalid_number, number],
    invalid_expiry_month: [texts.invalid_expiry_month, expiry],
    invalid_expiry_year: [texts.invalid_expiry_year, expiry],
    expired_card: [texts.expired_card, expiry],
    invalid_cvc: [texts.invalid_cvc, cvc],
    incorrect_cvc: [texts.invalid_cvc, cvc],
  };

  // The billing details typed (none left empty).
  function billingDetails() {
    const fields = {};
    if (email && email.value.trim()) {
      fields["billing_details[email]"] = email.value.trim();
    }
    if (name && name.value.trim()) {
      fields["billing_details[name]"] = name.value.trim();
    }
    return fields;
  }

  // The first problem of what was typed, as [message, field], or null.
  function problemOf(digits, exp, code) {
    if (email && email.value.trim() && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.value.trim())) {
      return [texts.invalid_email, email];
    }
    if (digits.length < 12 || digits.length > 19 || !luhnValid(digits)) {
      return [texts.invalid_number, number];
    }
    if (!exp) {
      return [texts.invalid_expiry, expiry];
    }
    if (expired(exp)) {
      return [texts.expired_card, expiry];
    }
    if (code.length < 3 || code.length > 4) {
      return [texts.cvc_missing, cvc];
    }
    return null;
  }

  function tell(problem) {
    show(problem[0]);
    problem[1].focus();
  }

  number.addEventListener("input", () => {
    const digits = number.value.replace(/\D/g, "").slice(0, 19);
    number.value = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show("");
    const digits = number.value.replace(/\D/g, "");
    if (form.dataset.authenticationUrl && digits === "") {
      window.location.assign(form.dataset.authenticationUrl);
      return;
    }
    const exp = expiryParts(expiry.value);
    const code = cvc.value.replace(/\D/g, "");
    const problem = problemOf(digits, exp, code);
    if (problem) {
      tell(problem);
      return;
    }
    busy(true);
    try {
      const method = await post(
        "/v1/payment_methods",
        {
          type: "card",
          "card[number]": digits,
          "card[exp_month]": exp.month,
          "card[exp_year]": exp.year,
          "card[cvc]": code,
          ...billingDetails(),
        },
        randomKey(),
      );
      const refusal = method.body.error ? REFUSALS[method.body.error.code] : undefined;
      if (!method.ok && refusal && refusal[1] !== number) {
        // The expiry or the CVC to fix: the number stays typed.
        cvc.value = "";
        tell(refusal);
        return;
      }
      // The number has been handed to paycore (or refused): it leaves the page.
      number.value = "";
      cvc.value = "";
      if (!method.ok) {
        if (refusal) {
          tell(refusal);
        } else {
          show(method.body.error ? method.body.error.message : texts.card_refused);
          number.focus();
        }
        return;
      }
      await confirm({
        client_secret: clientSecret,
        payment_method: method.body.id,
        return_url: returnUrl(),
      });
    } catch (failure) {
      show(texts.unreachable);
    } finally {
      busy(false);
    }
  });

  // Where the card's authentication page (3-D Secure) sends the buyer back: this page.
  function returnUrl() {
    return window.location.href.split("#")[0];
  }

  // Confirms the session's intent and follows the answer: the success page, a wait, the
  // authentication page the card asks for, or the decline told under the form.
  async function confirm(fields) {
    const confirmed = await post(
      "/v1/payment_intents/" + encodeURIComponent(intent) + "/confirm",
      fields,
      randomKey(),
    );
    const body = confirmed.body;
    if (confirmed.ok && body.status === "succeeded") {
      window.location.assign(successUrl);
      return;
    }
    if (confirmed.ok && body.status === "processing") {
      show(texts.processing_wait);
      window.setTimeout(() => window.location.reload(), 2000);
      return;
    }
    const action = body.next_action;
    if (confirmed.ok && body.status === "requires_action" && action && action.redirect_to_url) {
      if (authenticating && !fields.payment_method) {
        // Back without having answered: offer the page again rather than loop through it.
        show(texts.authenticate);
        form.dataset.authenticationUrl = action.redirect_to_url.url;
        return;
      }
      window.location.assign(action.redirect_to_url.url);
      return;
    }
    if (body.error && body.error.code === "payment_intent_unexpected_state") {
      // Paid in another tab, or expired meanwhile: the page says which.
      window.location.reload();
      return;
    }
    show(body.error ? declineMessage(body.error) : texts.payment_failed);
    number.focus();
  }

  if (authenticating) {
    // Back from the card's authentication page: the charge goes on with it.
    busy(true);
    confirm({ client_secret: clientSecret, return_url: returnUrl() })
      .catch(() => show(texts.unreachable))
      .finally(() => busy(false));
  }
})();
