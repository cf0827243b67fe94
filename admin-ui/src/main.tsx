// The embedded admin page: App Bridge gives the session tokens, locale and save bar; Polaris
// web components draw it; each section of the app is one route.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get, prefetch, type Shop } from "./api";
import { makeFmt, type Key } from "./i18n";
import { Ctx, Loading, useLoad } from "./ui";
import { Home, homePaths } from "./pages/home";
import { PlaybookPage } from "./pages/playbook";
import { WhatsappPage } from "./pages/whatsapp";
import { ConsentPage } from "./pages/consent";
import { InboxPage } from "./pages/inbox";
import { FaqPage } from "./pages/faq";
import { ActivityPage } from "./pages/activity";
import { OptimizerPage } from "./pages/optimizer";
import { reportWebVitals } from "./vitals";

const ROUTES: { path: string; key: Key; page: () => preact.JSX.Element }[] = [
  { path: "/", key: "nav_home", page: Home },
  { path: "/playbook", key: "nav_playbook", page: PlaybookPage },
  { path: "/whatsapp", key: "nav_whatsapp", page: WhatsappPage },
  { path: "/consent", key: "nav_consent", page: ConsentPage },
  { path: "/inbox", key: "nav_inbox", page: InboxPage },
  { path: "/faq", key: "nav_faq", page: FaqPage },
  { path: "/activity", key: "nav_activity", page: ActivityPage },
  { path: "/optimizer", key: "nav_optimizer", page: OptimizerPage },
];

const current = () => (ROUTES.some((r) => r.path === location.pathname) ? location.pathname : "/");

function App() {
  const [path, setPath] = useState(current);
  const shop = useLoad(() => get<Shop>("/api/shop"), []);
  const locale = shopify.config?.locale;
  const timeZone = shop.data?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const fmt = makeFmt(locale, shop.data?.currency ?? null, timeZone ?? undefined);

  const navigate = (to: string) => {
    const target = ROUTES.some((r) => r.path === to) ? to : "/";
    if (target !== location.pathname) history.pushState(null, "", target + location.search);
    setPath(target);
    window.scrollTo(0, 0);
  };

  useEffect(() => {
    document.documentElement.lang = fmt.lang;
    const onPop = () => setPath(current());
    // App Bridge's navigation (the admin's side menu), and in-app links.
    const onNavigate = (e: Event) => {
      const href = (e.target as Element | null)?.getAttribute?.("href");
      if (href) navigate(new URL(href, location.href).pathname);
    };
    const onClick = (e: MouseEvent) => {
      if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
      for (const el of e.composedPath()) {
        if (!(el instanceof Element)) continue;
        const href = el.getAttribute("href");
        if (href === null || el.getAttribute("target")) continue;
        const url = new URL(href, location.href);
        if (url.origin === location.origin && ROUTES.some((r) => r.path === url.pathname)) {
          e.preventDefault();
          navigate(url.pathname);
        }
        return;
      }
    };
    addEventListener("popstate", onPop);
    document.addEventListener("shopify:navigate", onNavigate);
    document.addEventListener("click", onClick);
    return () => {
      removeEventListener("popstate", onPop);
      document.removeEventListener("shopify:navigate", onNavigate);
      document.removeEventListener("click", onClick);
    };
  }, [fmt.lang]);

  const route = ROUTES.find((r) => r.path === path) ?? ROUTES[0];
  const Page = route.page;
  return (
    <>
      <s-app-nav>
        {ROUTES.map((r) => (
          <s-link key={r.path} href={r.path + location.search} rel={r.path === "/" ? "home" : undefined}>
            {fmt.t(r.key)}
          </s-link>
        ))}
      </s-app-nav>
      {shop.data ? (
        <Ctx.Provider value={{ fmt, shop: shop.data, navigate }}>
          <Page key={path} />
        </Ctx.Provider>
      ) : (
        <Ctx.Provider value={{ fmt, shop: { shop: "", name: "", installed: false, whatsapp_connected: false }, navigate }}>
          <s-page heading="cartback">
            <Loading error={shop.error} retry={shop.reload} />
          </s-page>
        </Ctx.Provider>
      )}
    </>
  );
}

// Everything the first screen needs is asked for at once, not one answer after another.
prefetch(["/api/shop", ...(current() === "/" ? homePaths() : [])]);
render(<App />, document.getElementById("app")!);
reportWebVitals();
