// cartback's WhatsApp opt-in on the cart page. Posts the phone and the exact wording the shopper
// agreed to through the app proxy, which signs the request on to cartback (`POST /proxy/optin`).
(() => {
  const root = document.querySelector("[data-cartback-optin]");
  const form = root && root.querySelector("form");
  // A theme that loads the script twice must not send every opt-in twice.
  if (!form || "wired" in root.dataset) return;
  root.dataset.wired = "";

  const texts = root.dataset;
  const phone = form.elements.phone;
  const consent = form.elements.consent;
  const button = form.querySelector("button");
  const status = root.querySelector("[role=status]");
  const label = form.querySelector(`label[for="${consent.id}"]`);

  const say = (text, state) => {
    status.textContent = text;
    status.dataset.state = state;
  };

  // Points the shopper, and assistive tech, at the field to fix.
  const refuse = (field, text) => {
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", status.id);
    say(text, "error");
    field.focus();
  };

  const clear = () => {
    for (const field of [phone, consent]) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    }
    say("", "");
  };

  // The cart token ties the opt-in to the checkout it came from; it is optional, so any failure
  // here just leaves it out.
  const cartToken = async () => {
    try {
      const res = await fetch(texts.cartUrl, { headers: { Accept: "application/json" } });
      return res.ok ? (await res.json()).token || null : null;
    } catch {
      return null;
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    clear();
    const number = phone.value.trim();
    if (!number) return refuse(phone, texts.phoneError);
    // Consent is never assumed: nothing leaves the page unless the box is ticked.
    if (!consent.checked) return refuse(consent, texts.consentMissing);

    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const body = {
        phone: number,
        consent: true,
        // What the shopper read, as rendered: the ledger stores it with the opt-in.
        wording: label.textContent.replace(/\s+/g, " ").trim(),
        cart_token: await cartToken(),
      };
      // Lets the app read a number typed without its country code.
      if (texts.country) body.country = texts.country;
      const res = await fetch(texts.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      if (res.ok) {
        const answer = await res.json().catch(() => ({}));
        form.hidden = true;
        if (answer.status === "confirm_on_whatsapp") {
          // The number opted out from its own phone: only a message from it opts back in.
          say(texts.confirm, "confirm");
          if (answer.whatsapp_url) {
            const link = document.createElement("a");
            link.className = "cartback-optin__confirm";
            link.href = answer.whatsapp_url;
            link.target = "_blank";
            link.rel = "noopener";
            link.textContent = texts.confirmButton;
            status.after(link);
          }
        } else {
          say(texts.success, "success");
        }
      } else if (res.status === 400) {
        refuse(phone, texts.phoneError);
      } else {
        say(res.status === 429 ? texts.rateLimited : texts.error, "error");
      }
    } catch {
      say(texts.error, "error");
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });

  form.hidden = false;
})();
