// The jwtmiddleware demo's only script: plain JavaScript, no framework, no build step.
// Tokens live in HttpOnly cookies this script cannot read; it reads only the CSRF cookie
// and echoes it in a header on unsafe requests (double submit, bound into the token).
"use strict";

const page = document.body.dataset;
const $ = (selector) => document.querySelector(selector);
let rotations = 0; // refresh-token rotations made by this page
const TIME_CLAIMS = ["exp", "iat", "nbf", "auth_time"];

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const index = part.indexOf("=");
    if (index > 0 && part.slice(0, index).trim() === name) {
      return decodeURIComponent(part.slice(index + 1).trim());
    }
  }
  return null;
}

function baseHeaders() {
  const headers = { Accept: "application/json" };
  const csrf = readCookie(page.csrfCookie);
  if (csrf) headers[page.csrfHeader] = csrf;
  return headers;
}

// One refresh at a time, shared by every request that got a 401 meanwhile.
let refreshing = null;
function refreshTokens() {
  if (!refreshing) {
    refreshing = fetch("/auth/refresh", { method: "POST", headers: baseHeaders() })
      .then(async (response) => {
        const data = await response.json().catch(() => ({}));
        if (response.ok) rotations += 1;
        return { ok: response.ok, why: data.why || "" };
      })
      .catch(() => ({ ok: false, why: "" }))
      .finally(() => setTimeout(() => { refreshing = null; }, 0));
  }
  return refreshing;
}

function toLogin(why) {
  const query = "?next=" + encodeURIComponent(location.pathname) + (why ? "&why=" + why : "");
  location.assign("/login" + query);
}

// fetch() for the demo's API: CSRF header, JSON in and out, one refresh-and-retry on 401.
async function api(method, url, payload, retried) {
  const init = { method, headers: baseHeaders() };
  if (payload !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload);
  }
  const response = await fetch(url, init);
  if (response.status === 401 && !retried) {
    const refreshed = await refreshTokens();
    if (refreshed.ok) return api(method, url, payload, true);
    toLogin(refreshed.why || "expired");
    throw new Error("logged out");
  }
  const data = await response.json().catch(() => null);
  return { status: response.status, ok: response.ok, data };
}

function clock(ts) {
  return new Date(ts * 1000).toLocaleTimeString();
}

// The server's clock minus this browser's, so "ago" and "in" are right even when they differ.
const serverOffset = page.now ? Number(page.now) - Date.now() / 1000 : 0;

function span(seconds) {
  if (seconds < 60) return seconds + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min";
  if (seconds < 86400) return Math.floor(seconds / 3600) + " h";
  return Math.floor(seconds / 86400) + " d";
}

// "in 4 min" for a time ahead (an exp), "2 min ago" for one behind; "just now" only within
// five seconds in the past.
function relative(ts) {
  const s = Math.round(ts - (Date.now() / 1000 + serverOffset));
  if (s > 0) return "in " + span(s);
  if (s > -5) return "just now";
  return span(-s) + " ago";
}

function localizeTimes() {
  for (const el of document.querySelectorAll("time[data-ts]")) {
    const ts = Number(el.dataset.ts);
    el.textContent = new Date(ts * 1000).toLocaleString() + " (" + relative(ts) + ")";
  }
}

function showError(selector, text) {
  const el = $(selector);
  el.textContent = text;
  el.hidden = false;
}

function describe(result) {
  const d = result.data || {};
  return result.status + " " + (d.error || "") + (d.error_description ? ": " + d.error_description : "");
}

// -- buttons ------------------------------------------------------------------------------

const actions = {
  async logout() {
    await api("POST", "/auth/logout");
    location.assign("/login?why=logged-out");
  },
  async "logout-others"() {
    const result = await api("POST", "/auth/logout-others");
    if (result.ok) location.reload();
    else showError("#action-error", describe(result));
  },
  async "revoke-session"(button) {
    const result = await api("DELETE", "/auth/sessions/" + encodeURIComponent(button.dataset.sid));
    if (!result.ok) showError("#action-error", describe(result));
    else if (button.dataset.current) location.assign("/login?why=logged-out");
    else location.reload();
  },
  inspect: () => inspect(),
  "mint-link": () => mintLink(),
  "use-link": () => useLink(),
};

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button || !actions[button.dataset.action]) return;
  event.preventDefault();
  button.disabled = true;
  try {
    await actions[button.dataset.action](button);
  } catch (error) {
    console.warn(error);
  } finally {
    button.disabled = false;
  }
});

// -- login ----------------------------------------------------------------------------------

function initLogin() {
  const form = $("#login-form");
  const next = page.next || "/me";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("#login-error").hidden = true;
    const response = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ username: form.elements.username.value,
                             password: form.elements.password.value }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      showError("#login-error", data.error_description || "Login failed (" + response.status + ")");
    } else if (!readCookie(page.csrfCookie)) {
      showError("#login-error", "Logged in, but this browser refused the demo's Secure cookies " +
        "over plain http. Use Chromium or Firefox on http://127.0.0.1 or http://localhost, " +
        "or restart the demo with JWTMIDDLEWARE_COOKIE_SECURE=false.");
    } else {
      location.replace(next);
    }
  });
  // Back from an expired access token? The refresh cookie may still be good.
  if (readCookie(page.csrfCookie) && !["revoked", "logged-out", "invalid"].includes(page.why)) {
    refreshTokens().then((result) => { if (result.ok) location.replace(next); });
  }
}

// -- me ---------------------------------------------------------------------------------------

function initMe() {
  let exp = Number(page.exp);
  let jti = page.jti;
  let offset = Number(page.now) - Date.now() / 1000;
  let refreshes = 0;
  const countdown = $("#countdown");
  const events = $("#events");

  function log(text) {
    const item = document.createElement("li");
    item.textContent = clock(Date.now() / 1000) + "  " + text;
    events.prepend(item);
  }
  function tick() {
    const left = Math.max(0, exp - (Date.now() / 1000 + offset));
    countdown.textContent = left.toFixed(0) + " s";
    countdown.classList.toggle("low", left < 10);
  }
  function showClaims(claims) {
    const table = $("#claims");
    table.replaceChildren();
    for (const name of Object.keys(claims).sort()) {
      const row = table.insertRow();
      const th = document.createElement("th");
      th.textContent = name;
      row.append(th);
      const code = document.createElement("code");
      code.textContent = JSON.stringify(claims[name]);
      const cell = row.insertCell();
      cell.append(code);
      if (TIME_CLAIMS.includes(name) && typeof claims[name] === "number") {
        cell.append(" ", line("span", new Date(claims[name] * 1000).toLocaleString(), "muted"));
      }
    }
  }
  async function poll() {
    let result;
    try {
      result = await api("GET", "/api/me");
    } catch (error) {
      return; // logged out (api() went to the login page) or the demo stopped
    }
    if (!result.ok) return log("GET /api/me answered " + describe(result));
    const me = result.data;
    offset = me.server_time - Date.now() / 1000;
    if (me.token_id === jti) return;
    refreshes += 1;
    const how = rotations ? "rotated with the refresh token" : "sliding refresh by the middleware";
    const gained = Math.round(me.expires_at - exp);
    const text = "Token refreshed at " + clock(me.server_time) + " (" + how + "): new jti " +
      me.token_id.slice(0, 8) + "…, expiry moved " + (gained >= 0 ? "+" : "") + gained + " s.";
    const status = $("#refresh-status");
    status.textContent = text;
    status.hidden = false;
    status.classList.remove("flash");
    void status.offsetWidth; // restart the highlight animation
    status.classList.add("flash");
    const count = $("#refresh-count");
    count.textContent = String(refreshes);
    count.dataset.refreshes = String(refreshes);
    log(text);
    rotations = 0;
    jti = me.token_id;
    exp = me.expires_at;
    $("#jti").textContent = me.token_id;
    $("#exp").textContent = new Date(exp * 1000).toLocaleString();
    showClaims(me.claims);
  }

  $("#exp").textContent = new Date(exp * 1000).toLocaleString();
  log("Page loaded; polling GET /api/me every " + page.poll + " s.");
  tick();
  setInterval(tick, 250);
  setInterval(poll, Number(page.poll) * 1000);
}

// -- token lab ---------------------------------------------------------------------------------

async function initLab() {
  const result = await api("GET", "/api/lab/samples");
  if (!result.ok) return;
  for (const [name, token] of Object.entries(result.data.samples)) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sample";
    button.textContent = name;
    button.addEventListener("click", () => { $("#token").value = token; inspect(); });
    $("#samples").append(button);
  }
}

function line(tag, text, className) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (className) el.className = className;
  return el;
}

async function inspect() {
  const token = $("#token").value.trim();
  if (!token) return;
  const result = await api("POST", "/api/inspect", { token });
  const verdict = $("#verdict");
  verdict.hidden = false;
  verdict.replaceChildren();
  if (!result.ok) {
    verdict.className = "verdict bad";
    verdict.append(line("p", describe(result)));
    return;
  }
  const d = result.data;
  $("#header").textContent = d.header ? JSON.stringify(d.header, null, 2) : "(not decodable)";
  let claims = d.claims ? JSON.stringify(d.claims, null, 2) : "(not decodable)";
  if (d.claims && typeof d.claims.exp === "number") {
    const left = d.claims.exp - d.server_time;
    claims += "\n\nexp " + (left >= 0 ? "in " + Math.round(left) + " s" : Math.round(-left) + " s ago");
  }
  $("#payload").textContent = claims;
  if (d.valid) {
    verdict.className = "verdict ok";
    verdict.append(line("h3", "Accepted"),
      line("p", "A valid " + d.kind + " token for " + (d.claims.sub || "(no sub)") +
        ": the middleware would let this request through."));
    return;
  }
  const e = d.error;
  verdict.className = "verdict bad";
  verdict.append(
    line("h3", "Refused: " + e.class),
    line("p", "Failed check: " + e.reason),
    line("p", "Why it matters: " + e.why),
    line("p", "The client is told: " + e.status + " " + (e.code || "(no error code)") +
      ' "' + e.description + '"', "muted"),
  );
}

let linkUrl = null;
let linkUses = 0;

async function mintLink() {
  const result = await api("POST", "/api/download-link");
  if (!result.ok) return;
  linkUrl = result.data.url;
  linkUses = 0;
  const link = $("#link");
  link.href = linkUrl;
  link.textContent = location.origin + linkUrl.slice(0, 60) + "…";
  $("#link-box").hidden = false;
  $("#use-link").disabled = false;
  $("#link-log").replaceChildren();
}

async function useLink() {
  if (!linkUrl) return;
  linkUses += 1;
  // credentials: "omit" — the one-time token in the URL is the only credential.
  const response = await fetch(linkUrl, { credentials: "omit" });
  const text = await response.text();
  let detail = text.split("\n")[0];
  if (!response.ok) {
    try { const d = JSON.parse(text); detail = d.error + ": " + d.error_description; } catch (e) {}
  }
  const li = line("li", "Use " + linkUses + ": " + response.status + " — " + detail,
    response.ok ? "ok" : "bad");
  li.dataset.status = String(response.status);
  $("#link-log").append(li);
}

// -- start -------------------------------------------------------------------------------------

localizeTimes();
({ login: initLogin, me: initMe, lab: initLab })[page.page]?.();
