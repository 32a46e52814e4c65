// The app: three pages behind a hash router (#/declare, #/check, #/status), so that no path of
// the node's own API (/checkpoint, /tile/..., /v1/...) can ever collide with a page.
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { initialLang, LANGS, type Lang, lang, setLang, t } from "./i18n";
import { CreatePage } from "./pages/create";
import { LookupPage } from "./pages/lookup";
import { StatusPage } from "./pages/status";

type Route = "declare" | "check" | "status";
const ROUTES: Route[] = ["declare", "check", "status"];

function currentRoute(): Route {
  const name = location.hash.replace(/^#\/?/, "");
  return (ROUTES as string[]).includes(name) ? (name as Route) : "declare";
}

function App() {
  const [route, setRoute] = useState<Route>(currentRoute());
  const [, setLanguage] = useState<Lang>(lang());

  useEffect(() => {
    const onHash = () => {
      setRoute(currentRoute());
      document.getElementById("main")?.focus();
    };
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    const titles: Record<Route, string> = {
      declare: t("create.title"),
      check: t("lookup.title"),
      status: t("status.title"),
    };
    document.title = `${titles[route]} · ${t("app.title")}`;
  });

  const link = (to: Route, label: string) => (
    <a href={`#/${to}`} aria-current={route === to ? "page" : undefined}>
      {label}
    </a>
  );

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        {t("skip")}
      </a>
      <header>
        <div class="brand">
          <span class="logo" aria-hidden="true">✓</span>
          <div>
            <strong>{t("app.title")}</strong>
            <p class="tagline">{t("app.tagline")}</p>
          </div>
        </div>
        <nav aria-label={t("nav.label")}>
          {link("declare", t("nav.create"))}
          {link("check", t("nav.lookup"))}
          {link("status", t("nav.status"))}
          <a href="/schema">{t("nav.schema")}</a>
        </nav>
        <label class="lang">
          <span>{t("lang.label")}</span>
          <select
            value={lang()}
            onChange={(e) => {
              const value = (e.currentTarget as HTMLSelectElement).value as Lang;
              setLang(value);
              setLanguage(value);
            }}
          >
            {(Object.keys(LANGS) as Lang[]).map((code) => (
              <option value={code} lang={code}>
                {LANGS[code]}
              </option>
            ))}
          </select>
        </label>
      </header>
      <main id="main" tabIndex={-1}>
        {route === "declare" && <CreatePage />}
        {route === "check" && <LookupPage />}
        {route === "status" && <StatusPage />}
      </main>
      <footer>
        <p>{t("footer.local")}</p>
      </footer>
    </>
  );
}

setLang(initialLang());
render(<App />, document.getElementById("app")!);
