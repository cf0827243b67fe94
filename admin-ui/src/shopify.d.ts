// What the page uses of App Bridge (the `shopify` global) and of Polaris web components.
import type { JSX } from "preact";

declare global {
  interface WebVitalsMetric {
    id: string;
    name: string;
    value: number;
  }
  interface ShopifyGlobal {
    idToken(): Promise<string>;
    config: { apiKey?: string; shop?: string; locale?: string; host?: string };
    saveBar: { show(id: string): Promise<void>; hide(id: string): Promise<void> };
    toast?: { show(message: string, options?: { isError?: boolean }): void };
    webVitals?: { onReport(cb: ((metric: WebVitalsMetric) => void) | null): void };
  }
  // eslint-disable-next-line no-var
  var shopify: ShopifyGlobal;
}

type Any = JSX.HTMLAttributes<HTMLElement> & { [attribute: string]: unknown };

declare module "preact" {
  namespace JSX {
    interface IntrinsicElements {
      "s-page": Any;
      "s-section": Any;
      "s-app-nav": Any;
      "s-link": Any;
      "s-button": Any;
      "s-banner": Any;
      "s-badge": Any;
      "s-text-field": Any;
      "s-number-field": Any;
      "s-password-field": Any;
      "s-text-area": Any;
      "s-select": Any;
      "s-option": Any;
      "s-checkbox": Any;
      "s-spinner": Any;
      "ui-save-bar": Any;
    }
  }
}
