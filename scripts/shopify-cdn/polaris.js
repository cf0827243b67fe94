// A local stand-in for Polaris web components (cdn.shopify.com/shopifycloud/polaris.js), for the
// browser tests and `make dev`: the s-* elements the admin page uses, as accessible custom
// elements with open shadow roots, close enough to Shopify's for tests and screenshots.
(() => {
  const FONT = `-apple-system, BlinkMacSystemFont, "San Francisco", "Segoe UI", Roboto, "Helvetica Neue", sans-serif`;
  const FOCUS = `outline: 2px solid #005bd3; outline-offset: 1px;`;
  const FIELD_CSS = `
    :host { display: block; font: 14px/1.4 ${FONT}; color: #303030; min-width: 0; }
    label { display: block; margin-bottom: 4px; }
    input, select, textarea { box-sizing: border-box; width: 100%; font: inherit; color: #303030; padding: 7px 10px;
      border: 1px solid #8a8a8a; border-radius: 8px; background: #fff; min-height: 34px; }
    textarea { min-height: 72px; resize: vertical; }
    input:focus-visible, select:focus-visible, textarea:focus-visible { ${FOCUS} }
    input[aria-invalid="true"], select[aria-invalid="true"], textarea[aria-invalid="true"] { border-color: #8e1f0b; background: #fff4f4; }
    .details { color: #616161; font-size: 13px; margin-top: 4px; }
    .error { color: #8e1f0b; font-size: 13px; margin-top: 4px; font-weight: 550; }
    .error:empty, .details:empty { display: none; }
    :host([disabled]) { opacity: .6; }`;
  let serial = 0;
  const uid = (p) => `${p}-${++serial}`;
  const kebab = (s) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

  /** A custom element whose listed properties reflect to kebab-case attributes. */
  function element(name, props, setup) {
    class El extends HTMLElement {
      static get observedAttributes() {
        return props.map(kebab);
      }
      connectedCallback() {
        if (!this.shadowRoot) {
          this.attachShadow({ mode: "open", delegatesFocus: true });
          setup.render.call(this);
        }
        setup.update?.call(this);
      }
      attributeChangedCallback() {
        if (this.shadowRoot) setup.update?.call(this);
      }
    }
    for (const p of props) {
      if (setup.own?.[p]) continue;
      Object.defineProperty(El.prototype, p, {
        get() {
          return this.getAttribute(kebab(p));
        },
        set(v) {
          if (v === false || v === null || v === undefined || v === "") this.removeAttribute(kebab(p));
          else this.setAttribute(kebab(p), v === true ? "" : String(v));
        },
      });
    }
    for (const [p, d] of Object.entries(setup.own ?? {})) Object.defineProperty(El.prototype, p, d);
    customElements.define(name, El);
  }

  element("s-page", ["heading", "inlineSize"], {
    render() {
      this.shadowRoot.innerHTML = `<style>
        :host { display: block; box-sizing: border-box; max-width: 1040px; margin: 0 auto; padding: 20px 20px 8px; font: 14px/1.4 ${FONT}; color: #303030; }
        h1 { font-size: 20px; font-weight: 700; margin: 0 0 16px; }
        @media (max-width: 600px) { :host { padding: 12px 10px 8px; } }
      </style><h1 part="heading"></h1><slot></slot>`;
    },
    update() {
      this.shadowRoot.querySelector("h1").textContent = this.getAttribute("heading") ?? "";
    },
  });

  element("s-section", ["heading", "padding"], {
    render() {
      const id = uid("section");
      this.shadowRoot.innerHTML = `<style>
        :host { display: block; margin: 0 0 16px; }
        section { background: #fff; border-radius: 12px; padding: 16px; box-shadow: 0 1px 0 rgba(26,26,26,.07), 0 0 0 1px rgba(26,26,26,.06); }
        h2 { font-size: 14px; font-weight: 650; margin: 0 0 12px; }
        h2:empty { display: none; }
      </style><section aria-labelledby="${id}"><h2 id="${id}"></h2><slot></slot></section>`;
    },
    update() {
      this.shadowRoot.querySelector("h2").textContent = this.getAttribute("heading") ?? "";
    },
  });

  element("s-app-nav", [], {
    render() {
      this.shadowRoot.innerHTML = `<style>
        :host { display: block; background: #1a1a1a; position: sticky; top: 0; z-index: 5; }
        nav { display: flex; flex-wrap: wrap; gap: 2px 4px; max-width: 1040px; margin: 0 auto; padding: 6px 14px; }
      </style><nav aria-label="cartback"><slot></slot></nav>`;
    },
  });

  element("s-link", ["href", "target", "tone", "accessibilityLabel"], {
    render() {
      this.shadowRoot.innerHTML = `<style>
        :host { display: inline; }
        a { color: #005bd3; text-decoration: underline; }
        a:focus-visible { ${FOCUS} border-radius: 4px; }
        :host-context(s-app-nav) a { display: inline-block; color: #e3e3e3; text-decoration: none; padding: 6px 10px; border-radius: 8px; font-weight: 550; }
        :host-context(s-app-nav) a[aria-current="page"] { background: #fff; color: #1a1a1a; }
        :host-context(s-app-nav) a:focus-visible { outline-color: #79a7ff; }
      </style><a part="link"><slot></slot></a>`;
      const sync = () => this.update?.();
      addEventListener("popstate", sync);
      addEventListener("standin:navigated", sync);
    },
    update() {
      const a = this.shadowRoot.querySelector("a");
      const href = this.getAttribute("href");
      href === null ? a.removeAttribute("href") : a.setAttribute("href", href);
      const target = this.getAttribute("target");
      target ? a.setAttribute("target", target) : a.removeAttribute("target");
      const label = this.getAttribute("accessibility-label");
      label ? a.setAttribute("aria-label", label) : a.removeAttribute("aria-label");
      if (this.closest("s-app-nav") && href !== null) {
        const here = new URL(href, location.href).pathname === location.pathname;
        here ? a.setAttribute("aria-current", "page") : a.removeAttribute("aria-current");
      }
    },
  });

  element("s-button", ["variant", "tone", "disabled", "loading", "accessibilityLabel", "href", "target", "type"], {
    render() {
      this.shadowRoot.innerHTML = `<style>
        :host { display: inline-block; }
        button, a { font: 550 13px/1.3 ${FONT}; border-radius: 8px; padding: 6px 12px; cursor: pointer; min-height: 30px;
          border: 1px solid #c9c9c9; background: #fff; color: #303030; box-shadow: 0 1px 0 rgba(0,0,0,.08); text-decoration: none; display: inline-flex; align-items: center; gap: 4px; }
        :host([variant="primary"]) button { background: #303030; color: #fff; border-color: #303030; }
        :host([variant="tertiary"]) button { background: transparent; border-color: transparent; box-shadow: none; color: #303030; }
        :host([tone="critical"]) button { color: #8e1f0b; }
        :host([variant="primary"][tone="critical"]) button { background: #8e1f0b; color: #fff; }
        button:focus-visible, a:focus-visible { ${FOCUS} }
        button:disabled { cursor: default; opacity: .55; }
      </style><button type="button" part="button"><slot></slot></button>`;
      // A disabled button takes no clicks, even those aimed at its host.
      this.addEventListener("click", (e) => {
        if (this.hasAttribute("disabled")) e.stopImmediatePropagation();
      }, true);
    },
    update() {
      const b = this.shadowRoot.querySelector("button");
      b.disabled = this.hasAttribute("disabled");
      const label = this.getAttribute("accessibility-label");
      label ? b.setAttribute("aria-label", label) : b.removeAttribute("aria-label");
      this.hasAttribute("loading") ? b.setAttribute("aria-busy", "true") : b.removeAttribute("aria-busy");
    },
  });

  element("s-badge", ["tone"], {
    render() {
      this.shadowRoot.innerHTML = `<style>
        :host { display: inline-block; }
        span { display: inline-block; font: 550 12px/1.3 ${FONT}; padding: 2px 8px; border-radius: 8px; background: #e3e3e3; color: #303030; }
        :host([tone="success"]) span { background: #cdfee1; color: #0c5132; }
        :host([tone="critical"]) span { background: #fedad9; color: #8e1f0b; }
        :host([tone="attention"]) span, :host([tone="warning"]) span { background: #ffef9d; color: #4f4700; }
        :host([tone="info"]) span { background: #e0f0ff; color: #00527c; }
      </style><span><slot></slot></span>`;
    },
  });

  element("s-banner", ["tone", "heading"], {
    render() {
      this.shadowRoot.innerHTML = `<style>
        :host { display: block; margin: 0 0 16px; }
        div { border-radius: 12px; padding: 12px 16px; background: #e0f0ff; color: #00527c; font: 14px/1.4 ${FONT}; }
        :host([tone="critical"]) div { background: #fedad9; color: #8e1f0b; }
        :host([tone="success"]) div { background: #cdfee1; color: #0c5132; }
        :host([tone="warning"]) div { background: #ffef9d; color: #4f4700; }
        strong { display: block; }
        strong:empty { display: none; }
      </style><div><strong></strong><slot></slot></div>`;
    },
    update() {
      const d = this.shadowRoot.querySelector("div");
      d.setAttribute("role", this.getAttribute("tone") === "critical" ? "alert" : "status");
      this.shadowRoot.querySelector("strong").textContent = this.getAttribute("heading") ?? "";
    },
  });

  /** Labelled inputs: the value lives in the inner control; `change` is re-sent from the host. */
  function field(name, control) {
    const own = {
      value: {
        get() {
          const c = this.shadowRoot?.querySelector(".control");
          return c ? c.value : (this._value ?? "");
        },
        set(v) {
          this._value = v == null ? "" : String(v);
          const c = this.shadowRoot?.querySelector(".control");
          if (c && c.value !== this._value) c.value = this._value;
        },
      },
    };
    element(name, ["label", "value", "error", "details", "placeholder", "disabled", "name", "min", "max", "step", "autocomplete", "labelAccessibilityVisibility"], {
      own,
      render() {
        const id = uid("field");
        this.shadowRoot.innerHTML = `<style>${FIELD_CSS}</style><label for="${id}"></label>${control(id)}<div class="error" id="${id}-error"></div><div class="details" id="${id}-details"></div>`;
        const c = this.shadowRoot.querySelector(".control");
        c.setAttribute("aria-describedby", `${id}-error ${id}-details`);
        c.value = this._value ?? this.getAttribute("value") ?? "";
        c.addEventListener("change", () => this.dispatchEvent(new Event("change", { bubbles: true })));
      },
      update() {
        const c = this.shadowRoot.querySelector(".control");
        this.shadowRoot.querySelector("label").textContent = this.getAttribute("label") ?? "";
        const error = this.getAttribute("error");
        this.shadowRoot.querySelector(".error").textContent = error ?? "";
        this.shadowRoot.querySelector(".details").textContent = this.getAttribute("details") ?? "";
        error ? c.setAttribute("aria-invalid", "true") : c.removeAttribute("aria-invalid");
        for (const a of ["placeholder", "name", "min", "max", "step", "autocomplete"]) {
          const v = this.getAttribute(a);
          v === null ? c.removeAttribute(a) : c.setAttribute(a, v);
        }
        c.disabled = this.hasAttribute("disabled");
      },
    });
  }
  field("s-text-field", (id) => `<input class="control" id="${id}" type="text">`);
  field("s-number-field", (id) => `<input class="control" id="${id}" type="number" inputmode="decimal">`);
  field("s-password-field", (id) => `<input class="control" id="${id}" type="password" spellcheck="false">`);
  field("s-text-area", (id) => `<textarea class="control" id="${id}" rows="3"></textarea>`);

  element("s-option", ["value", "disabled"], { render() {} });

  element("s-select", ["label", "value", "error", "details", "disabled", "name"], {
    own: {
      value: {
        get() {
          return this.shadowRoot?.querySelector("select")?.value ?? this._value ?? "";
        },
        set(v) {
          this._value = v == null ? "" : String(v);
          const s = this.shadowRoot?.querySelector("select");
          if (s) s.value = this._value;
        },
      },
    },
    render() {
      const id = uid("select");
      this.shadowRoot.innerHTML = `<style>${FIELD_CSS}</style><label for="${id}"></label><select class="control" id="${id}" aria-describedby="${id}-error ${id}-details"></select><div class="error" id="${id}-error"></div><div class="details" id="${id}-details"></div>`;
      const select = this.shadowRoot.querySelector("select");
      const options = () => {
        const want = this._value ?? this.getAttribute("value") ?? "";
        select.innerHTML = [...this.querySelectorAll("s-option")]
          .map((o) => `<option value="${esc(o.getAttribute("value") ?? o.textContent)}"${o.hasAttribute("disabled") ? " disabled" : ""}>${esc(o.textContent)}</option>`)
          .join("");
        select.value = want;
      };
      options();
      new MutationObserver(options).observe(this, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["value"] });
      select.addEventListener("change", () => {
        this._value = select.value;
        this.dispatchEvent(new Event("change", { bubbles: true }));
      });
    },
    update() {
      const s = this.shadowRoot.querySelector("select");
      this.shadowRoot.querySelector("label").textContent = this.getAttribute("label") ?? "";
      const error = this.getAttribute("error");
      this.shadowRoot.querySelector(".error").textContent = error ?? "";
      this.shadowRoot.querySelector(".details").textContent = this.getAttribute("details") ?? "";
      error ? s.setAttribute("aria-invalid", "true") : s.removeAttribute("aria-invalid");
      s.disabled = this.hasAttribute("disabled");
    },
  });

  element("s-checkbox", ["label", "checked", "details", "error", "disabled", "name"], {
    own: {
      checked: {
        get() {
          return this.shadowRoot?.querySelector("input")?.checked ?? Boolean(this._checked);
        },
        set(v) {
          this._checked = Boolean(v);
          const i = this.shadowRoot?.querySelector("input");
          if (i) i.checked = this._checked;
        },
      },
    },
    render() {
      const id = uid("checkbox");
      this.shadowRoot.innerHTML = `<style>${FIELD_CSS}
        .row { display: flex; gap: 8px; align-items: flex-start; }
        input { width: 18px; height: 18px; min-height: 0; margin: 1px 0 0; accent-color: #303030; flex: none; }
        label { margin: 0; }
        .under { margin-left: 26px; }
      </style><div class="row"><input id="${id}" type="checkbox" aria-describedby="${id}-error ${id}-details"><label for="${id}"></label></div><div class="under"><div class="error" id="${id}-error"></div><div class="details" id="${id}-details"></div></div>`;
      const input = this.shadowRoot.querySelector("input");
      input.checked = Boolean(this._checked);
      input.addEventListener("change", () => {
        this._checked = input.checked;
        this.dispatchEvent(new Event("change", { bubbles: true }));
      });
    },
    update() {
      const i = this.shadowRoot.querySelector("input");
      this.shadowRoot.querySelector("label").textContent = this.getAttribute("label") ?? "";
      const error = this.getAttribute("error");
      this.shadowRoot.querySelector(".error").textContent = error ?? "";
      this.shadowRoot.querySelector(".details").textContent = this.getAttribute("details") ?? "";
      error ? i.setAttribute("aria-invalid", "true") : i.removeAttribute("aria-invalid");
      i.disabled = this.hasAttribute("disabled");
    },
  });
})();
