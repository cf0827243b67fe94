// cartback's WhatsApp opt-in wherever the shopper sees their cart: the cart page, the theme's
// cart drawer (again after every re-render of it) and, if the merchant turns it on, a prompt under
// the product form. Posts the phone and the exact wording agreed to through the app proxy, which
// signs the request on to cartback (`POST /proxy/optin`).
(() => {
  const source = document.getElementById("cartback-optin");
  // A theme that loads the script twice must not mount, or send, anything twice.
  if (!source || window.cartbackOptin) return;
  window.cartbackOptin = true;
  const texts = source.dataset;
  const CHECKOUT = '[name="checkout"]';
  const DRAWER = "cart-drawer, #CartDrawer, #cart-drawer, [data-cart-drawer], .cart-drawer";

  // One state for every copy on the page, so a re-render loses nothing: what was typed, a request
  // under way, the field to fix, the message, and the answer (`done`: the link to confirm from
  // WhatsApp, or ""), after which the form is not offered again.
  const draft = { phone: "", consent: false };
  const state = { busy: false, invalid: "", text: "", tone: "", done: null };
  const mounted = new Map(); // place → copy
  const wired = new WeakSet();
  let count = 0;

  // Before the checkout buttons, or after the cart form when they sit in it (forms cannot nest).
  // An empty drawer has no usable checkout button: nothing to remind the shopper of.
  const spot = (button) => {
    const form = button.closest("form");
    return form ? [form, "after"] : [button.parentElement, "before"];
  };
  const spots = () => {
    const found = [];
    const drawer = document.querySelector(DRAWER);
    const inDrawer = drawer?.querySelector(`${CHECKOUT}:not(:disabled)`);
    if (inDrawer) found.push(["drawer", ...spot(inDrawer)]);
    if (texts.template === "cart") {
      const button = [...document.querySelectorAll(CHECKOUT)].find((b) => !drawer?.contains(b));
      found.push(["cart", ...(button ? spot(button) : [source, "before"])]);
    }
    // The page's own product form, not a quick-add elsewhere on it.
    const ADD = 'form[action*="/cart/add"]';
    const product = document.querySelector(`main ${ADD}`) || document.querySelector(ADD);
    if (product && source.content.querySelector(".cartback-optin__toggle")) {
      found.push(["product", product.closest("product-form") || product, "after"]);
    }
    return found;
  };

  const show = (c) => {
    // Rewriting the same text would make some screen readers announce it again.
    if (c.status.textContent !== state.text) c.status.textContent = state.text;
    c.status.dataset.state = state.tone;
    for (const field of [c.phone, c.consent]) {
      if (field.name === state.invalid) {
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", c.status.id);
      } else {
        field.removeAttribute("aria-invalid");
        field.removeAttribute("aria-describedby");
      }
    }
    c.button.disabled = state.busy;
    c.form.toggleAttribute("aria-busy", state.busy);
    if (state.done === null) return;
    c.form.hidden = true;
    c.toggle?.remove();
    if (state.done) c.link.href = state.done;
    c.link.hidden = !state.done;
  };

  const set = (changes) => {
    Object.assign(state, changes);
    mounted.forEach((c) => c.root.isConnected && show(c));
  };

  // Points the shopper, and assistive tech, at the field to fix, in the copy they used (or the
  // one that replaced it meanwhile).
  const refuse = (c, name, text) => {
    set({ busy: false, invalid: name, text, tone: "error" });
    (c.root.isConnected ? c : mounted.get(c.place))?.[name].focus();
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

  const submit = async (c) => {
    if (state.busy) return;
    set({ invalid: "", text: "", tone: "" });
    const number = c.phone.value.trim();
    if (!number) return refuse(c, "phone", texts.phoneError);
    // Consent is never assumed: nothing leaves the page unless the box is ticked.
    if (!c.consent.checked) return refuse(c, "consent", texts.consentMissing);

    set({ busy: true });
    try {
      const body = {
        phone: number,
        consent: true,
        // What the shopper read, as rendered: the ledger stores it with the opt-in.
        wording: c.wording.textContent.replace(/\s+/g, " ").trim(),
        cart_token: await cartToken(),
      };
      // Lets the app read a number typed without its country code.
      if (texts.country) body.country = texts.country;
      const res = await fetch(texts.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status === 400) return refuse(c, "phone", texts.phoneError);
      if (!res.ok) return set({ busy: false, text: res.status === 429 ? texts.rateLimited : texts.error, tone: "error" });
      // The number opted out from its own phone: only a message from it opts back in.
      const answer = await res.json().catch(() => ({}));
      const confirm = answer.status === "confirm_on_whatsapp";
      set({
        busy: false,
        done: (confirm && answer.whatsapp_url) || "",
        text: confirm ? texts.confirm : texts.success,
        tone: confirm ? "confirm" : "success",
      });
    } catch {
      set({ busy: false, text: texts.error, tone: "error" });
    }
  };

  const mount = (place, previous) => {
    const root = source.content.firstElementChild.cloneNode(true);
    const form = root.querySelector("form");
    const c = { place, root, form, phone: form.elements.phone, consent: form.elements.consent };
    c.button = form.querySelector("button");
    c.wording = c.consent.nextElementSibling;
    c.status = root.querySelector("[role=status]");
    c.status.id = `cartback-optin-status-${++count}`;
    c.link = root.querySelector("a");
    c.toggle = root.querySelector(".cartback-optin__toggle");
    root.dataset.place = place;
    c.phone.value = draft.phone;
    c.consent.checked = draft.consent;
    form.addEventListener("input", () => Object.assign(draft, { phone: c.phone.value, consent: c.consent.checked }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit(c);
    });
    // A field removed while focused loses focus without the shopper moving it; only a blur with
    // the field still on the page forgets which one it was.
    form.addEventListener("focusin", (event) => (c.focused = event.target.name));
    form.addEventListener("focusout", ({ target }) => queueMicrotask(() => target.isConnected && (c.focused = null)));
    if (place !== "product") c.toggle?.remove();
    else {
      // A single button on the product page; the form opens under it.
      form.id = `cartback-optin-form-${count}`;
      c.toggle.setAttribute("aria-controls", form.id);
      const open = (on) => {
        form.hidden = !on;
        c.toggle.setAttribute("aria-expanded", on);
      };
      open(Boolean(draft.phone) || (previous ? !previous.form.hidden : false));
      c.toggle.addEventListener("click", () => {
        open(form.hidden);
        if (!form.hidden) c.phone.focus();
      });
    }
    wired.add(root);
    mounted.set(place, c);
    show(c);
    return c;
  };

  // One live copy in each place, and only one: idempotent, so any number of triggers for the same
  // re-render mount once. Copies the theme made of our markup are not wired: removed.
  const ensure = () => {
    for (const el of document.querySelectorAll(".cartback-optin")) if (!wired.has(el)) el.remove();
    for (const [place, anchor, where] of spots()) {
      const current = mounted.get(place);
      if (current?.root.isConnected && current.root.parentElement === anchor.parentElement) continue;
      current?.root.remove();
      const c = mount(place, current);
      anchor[where](c.root);
      const active = document.activeElement;
      const field = c[current?.focused];
      if (field && (!active || active === document.body)) {
        field.focus();
        if (field.type === "tel") field.setSelectionRange(field.value.length, field.value.length);
      }
    }
  };

  // After the script that announced the change has re-rendered, before the page is painted.
  let queued = false;
  const schedule = () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      ensure();
    });
  };

  // The theme's cart events where it has them (Dawn publishes before it re-renders, hence the
  // microtask), and one observer of the page for every other way a drawer comes and goes.
  for (const name of ["cart:updated", "cart:update", "cart:change", "cart:refresh", "cart:open", "cart-drawer:open"]) {
    window.addEventListener(name, schedule, true);
  }
  if (typeof subscribe === "function" && typeof PUB_SUB_EVENTS === "object" && PUB_SUB_EVENTS.cartUpdate) {
    subscribe(PUB_SUB_EVENTS.cartUpdate, schedule);
  }
  new MutationObserver((records) => records.some((r) => r.addedNodes.length) && schedule()).observe(
    document.body,
    { childList: true, subtree: true },
  );
  ensure();
})();
