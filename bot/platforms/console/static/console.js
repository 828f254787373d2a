// deskhand console: a shared room over a WebSocket, cards drawn from JSON. In demo/dev mode a
// persona picker says whom to act as; in production the session cookie from a sign-in link does.
// Every string from the server goes into text nodes; nothing is parsed as HTML.
"use strict";

(() => {
  const TONES = new Set(["info", "good", "warning", "attention"]);
  const STYLES = new Set(["default", "primary", "danger"]);
  const MAX_NODES = 500; // the hub keeps 500 messages; so do we
  const HISTORY_KEY = "deskhand.console.history";
  const PERSONA_KEY = "deskhand.console.persona";

  const log = document.getElementById("log");
  const input = document.getElementById("command");
  const form = document.querySelector(".composer");
  const sendButton = form.querySelector("button[type=submit]");
  const working = document.querySelector(".working");
  const personaList = document.querySelector(".personas");
  const current = document.querySelector(".current-persona");
  const connection = document.querySelector(".connection");
  const dialog = document.getElementById("confirm");
  const picker = document.querySelector(".picker");
  const account = document.querySelector(".account");
  const SIGNED_OUT = 4401; // the server closed the socket: the session ended

  const state = {
    personas: [],
    persona: null,
    signedIn: false, // production: the cookie says who we are, no persona to pick
    ws: null,
    generation: 0, // events of a replaced socket are ignored
    retries: 0,
    retryTimer: 0,
    workingTimer: 0,
    busyCards: new Set(),
    history: loadHistory(),
    historyAt: -1,
    draft: "",
    queued: [], // commands typed while (re)connecting; sent on hello
  };

  // ---- DOM helpers -------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function initials(name) {
    const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
    return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
  }

  function hue(name) {
    let n = 0;
    for (const ch of String(name || "")) n = (n * 31 + ch.codePointAt(0)) % 9973;
    return n % 6 ? `hue-${n % 6}` : "";
  }

  function clock(at) {
    if (typeof at !== "number") return null;
    const when = new Date(at * 1000);
    return h("time", { class: "meta-time", datetime: when.toISOString(), title: when.toLocaleString() },
      when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  }

  // ---- light markdown: *bold*, _italic_, `code`, line breaks ---------------------------------

  const INLINE = /`([^`\n]+)`|(?<![\p{L}\p{N}*])\*(\S(?:[^*\n]*?\S)?)\*(?![\p{L}\p{N}*])|(?<![\p{L}\p{N}_])_(\S(?:[^_\n]*?\S)?)_(?![\p{L}\p{N}_])/gu;

  function inline(parent, text) {
    let last = 0;
    for (const m of text.matchAll(INLINE)) {
      if (m.index > last) parent.append(text.slice(last, m.index));
      if (m[1] !== undefined) parent.append(h("code", null, m[1]));
      else if (m[2] !== undefined) parent.append(inline(h("strong"), m[2]));
      else parent.append(inline(h("em"), m[3]));
      last = m.index + m[0].length;
    }
    if (last < text.length) parent.append(text.slice(last));
    return parent;
  }

  function markdown(tag, className, text) {
    const node = h(tag, { class: className });
    String(text ?? "").split("\n").forEach((line, i) => {
      if (i) node.append(h("br"));
      inline(node, line);
    });
    return node;
  }

  // ---- cards -------------------------------------------------------------------------------

  let inputSeq = 0;

  function renderSection(section, messageId) {
    switch (section.type) {
      case "text": return markdown("div", "card-text", section.text);
      case "context": return markdown("div", "card-context", section.text);
      case "divider": return h("hr", { class: "card-divider" });
      case "fields": return h("dl", { class: "card-fields" }, (section.items || []).map((f) =>
        h("div", { class: "card-field" }, h("dt", null, f.label), h("dd", null, f.value))));
      case "table": return renderTable(section, messageId);
      case "text_input": return renderTextInput(section);
      case "choice_input": return renderChoiceInput(section);
      default: return null; // a newer section type: the fallback text still reaches screen readers
    }
  }

  function renderTable(section, messageId) {
    const rows = section.rows || [];
    const columns = section.columns || [];
    const wrap = h("div", { class: "card-table", "data-testid": "card-table" });
    if (!rows.length) {
      wrap.append(h("p", { class: "table-empty" }, section.caption || "Nothing to show."));
    } else {
      const table = h("table", null,
        section.caption ? h("caption", null, section.caption) : null,
        h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, rows.map((row) => h("tr", null, row.map((cell) =>
          section.markdown ? markdown("td", null, cell) : h("td", null, cell))))));
      wrap.append(h("div", { class: "table-scroll", tabindex: "0", role: "region",
        "aria-label": section.caption || "Table" }, table));
    }
    if (section.more) {
      const more = renderButton(section.more, messageId, false);
      if (more) {
        more.classList.add("btn-more");
        more.setAttribute("data-testid", "table-more");
        wrap.append(h("div", { class: "table-foot" },
          h("span", { class: "table-count" }, `${rows.length} shown`), more));
      }
    }
    return wrap;
  }

  function field(section, control) {
    const id = control.id;
    return h("div", { class: "card-input" },
      h("label", { for: id }, section.label, section.required ? h("span", { class: "required" }, " (required)") : null),
      control,
      h("div", { class: "input-error", id: `${id}-error`, "aria-live": "polite" }));
  }

  function renderTextInput(section) {
    const id = `in-${++inputSeq}`;
    const control = h(section.multiline ? "textarea" : "input", {
      id, class: "input", "data-input-id": section.id, placeholder: section.placeholder || null,
      maxlength: section.max_length || null, required: !!section.required,
      rows: section.multiline ? 3 : null, type: section.multiline ? null : "text",
      "aria-describedby": `${id}-error`,
    });
    return field(section, control);
  }

  function renderChoiceInput(section) {
    const id = `in-${++inputSeq}`;
    const control = h("select", { id, class: "input", "data-input-id": section.id,
      required: !!section.required, "aria-describedby": `${id}-error` },
    h("option", { value: "", selected: true, disabled: !!section.required },
      section.required ? "Choose\u2026" : "\u2014"),
    (section.choices || []).map((c) => h("option", { value: c.value }, c.label)));
    return field(section, control);
  }

  function safeUrl(raw) {
    try {
      const url = new URL(raw, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function renderButton(spec, messageId, validate) {
    const style = STYLES.has(spec.style) ? spec.style : "default";
    const common = { class: `btn btn-${style}`, "data-testid": "card-button",
      "data-action-id": spec.action_id || null };
    if (spec.url) {
      const href = safeUrl(spec.url);
      if (!href) return null; // never a javascript: or data: link
      return h("a", { ...common, href, target: "_blank", rel: "noopener noreferrer" }, spec.label,
        h("span", { class: "btn-ext", "aria-hidden": "true" }, " \u2197"),
        h("span", { class: "visually-hidden" }, " (opens in a new tab)"));
    }
    const button = h("button", { ...common, type: "button" }, spec.label);
    button.addEventListener("click", () => press(button, spec, messageId, validate));
    return button;
  }

  function renderCard(card, messageId) {
    const tone = TONES.has(card.tone) ? card.tone : "info";
    const node = h("section", { class: `card tone-${tone}`, "data-testid": "card", tabindex: "-1",
      "aria-label": card.title || "Card" },
    h("h3", { class: "card-title", "data-testid": "card-title" }, card.title || ""));
    for (const section of card.sections || []) {
      const rendered = renderSection(section || {}, messageId);
      if (rendered) node.append(rendered);
    }
    const buttons = (card.buttons || []).map((b) => renderButton(b, messageId, true)).filter(Boolean);
    if (buttons.length) node.append(h("div", { class: "card-buttons" }, buttons));
    return node;
  }

  // ---- messages ----------------------------------------------------------------------------

  function renderMessage(m) {
    const said = m.kind === "said";
    const card = m.card || {};
    const author = said ? card.title || "You" : "deskhand";
    const body = said
      ? h("div", { class: "said-text", "data-testid": "said-text" }, card.text || "")
      : renderCard(card, m.id);
    return h("article", {
      class: `msg ${said ? "msg-said" : "msg-card"}${m.private ? " msg-private" : ""}`,
      "data-testid": "message", "data-message-id": m.id, "data-kind": m.kind,
      "data-private": m.private ? "true" : "false",
    },
    h("div", { class: `avatar ${said ? `avatar-person ${hue(author)}` : "avatar-bot"}`, "aria-hidden": "true" },
      said ? initials(author) : "dh"),
    h("div", { class: "msg-body" },
      h("div", { class: "msg-meta" },
        h("span", { class: "msg-author" }, author),
        said ? null : h("span", { class: "msg-app" }, "app"),
        clock(m.at),
        m.private ? h("span", { class: "private-badge", "data-testid": "private-badge" },
          "Only visible to you") : null),
      body));
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 120;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function findMessage(id) {
    return log.querySelector(`[data-message-id="${CSS.escape(id)}"]`);
  }

  function addMessage(m) {
    if (!m || typeof m.id !== "string") return;
    if (findMessage(m.id)) return updateMessage(m);
    const stick = nearBottom() || m.kind === "said";
    log.querySelector(".empty")?.remove();
    log.append(renderMessage(m));
    while (log.querySelectorAll(".msg").length > MAX_NODES) log.querySelector(".msg").remove();
    if (stick) scrollDown();
  }

  function updateMessage(m) {
    const old = findMessage(m.id);
    if (!old) return addMessage(m);
    const hadFocus = old.contains(document.activeElement);
    const fresh = renderMessage(m);
    fresh.classList.add("msg-updated");
    old.replaceWith(fresh);
    // The clicked button is gone; keep keyboard users on the card that replaced it.
    if (hadFocus) fresh.querySelector(".card")?.focus({ preventScroll: true });
  }

  function notice(text, tone = "attention") {
    const stick = nearBottom();
    log.querySelector(".empty")?.remove();
    log.append(h("div", { class: `notice notice-${tone}`, "data-testid": "notice" }, text));
    if (stick) scrollDown();
  }

  function showHistory(messages) {
    log.replaceChildren();
    if (!messages.length) {
      log.append(h("div", { class: "empty", "data-testid": "empty-state" },
        h("h2", null, `Hello, ${state.persona.name}`),
        inline(h("p"), "Nothing in the room yet. Type `help` below to see what you may do.")));
    }
    messages.forEach((m) => log.append(renderMessage(m)));
    scrollDown();
  }

  // ---- actions -----------------------------------------------------------------------------

  function collectInputs(card, validate) {
    const values = {};
    let firstBad = null;
    for (const control of card.querySelectorAll("[data-input-id]")) {
      const value = control.value.trim();
      const error = document.getElementById(`${control.id}-error`);
      const missing = validate && control.required && !value;
      control.setAttribute("aria-invalid", missing ? "true" : "false");
      if (error) error.textContent = missing ? "Please fill this in first." : "";
      if (missing && !firstBad) firstBad = control;
      values[control.dataset.inputId] = value;
    }
    if (firstBad) {
      firstBad.focus();
      return null;
    }
    return values;
  }

  function confirmWith(confirm) {
    return new Promise((resolve) => {
      dialog.querySelector(".dialog-title").textContent = confirm.title || "Are you sure?";
      dialog.querySelector(".dialog-text").textContent = confirm.text || "";
      dialog.querySelector("[value=confirm]").textContent = confirm.confirm || "Yes";
      dialog.querySelector("[value=deny]").textContent = confirm.deny || "Cancel";
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
      dialog.showModal();
    });
  }

  function setBusy(card, busy) {
    if (!card) return;
    // A disabled button drops focus to <body>; park it on the card so keyboard users stay put.
    if (busy && card.contains(document.activeElement)) card.focus({ preventScroll: true });
    card.classList.toggle("card-busy", busy);
    card.setAttribute("aria-busy", busy ? "true" : "false");
    card.querySelectorAll("button").forEach((b) => { b.disabled = busy; });
    if (busy) state.busyCards.add(card);
    else state.busyCards.delete(card);
  }

  function clearBusy() {
    [...state.busyCards].forEach((card) => setBusy(card, false));
  }

  async function press(button, spec, messageId, validate) {
    const card = button.closest(".card");
    const inputs = collectInputs(card, validate);
    if (inputs === null) return;
    if (spec.confirm) {
      const yes = await confirmWith(spec.confirm);
      if (button.isConnected) button.focus();
      if (!yes) return;
    }
    const sent = send({ type: "action", message_id: messageId, action_id: spec.action_id,
      value: spec.value ?? "", inputs, client_id: clientId() });
    if (!sent) return;
    setBusy(card, true);
    setTimeout(() => setBusy(card, false), 15000); // never leave a card stuck if no reply comes
  }

  // ---- commands ----------------------------------------------------------------------------

  function clientId() {
    return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  }

  function loadHistory() {
    try {
      const saved = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(saved) ? saved.filter((s) => typeof s === "string").slice(-50) : [];
    } catch {
      return [];
    }
  }

  function remember(text) {
    if (state.history[state.history.length - 1] !== text) state.history.push(text);
    state.history = state.history.slice(-50);
    state.historyAt = -1;
    try { localStorage.setItem(HISTORY_KEY, JSON.stringify(state.history)); } catch { /* private mode */ }
  }

  function recall(step) {
    const list = state.history;
    if (!list.length) return;
    if (state.historyAt === -1) {
      if (step > 0) return;
      state.draft = input.value;
      state.historyAt = list.length;
    }
    const next = state.historyAt + step;
    if (next < 0) return;
    state.historyAt = next >= list.length ? -1 : next;
    input.value = state.historyAt === -1 ? state.draft : list[next];
    requestAnimationFrame(() => input.setSelectionRange(input.value.length, input.value.length));
  }

  function setWorking(text) {
    clearTimeout(state.workingTimer);
    working.textContent = text;
    if (text) state.workingTimer = setTimeout(() => { working.textContent = ""; }, 15000);
  }

  function send(data) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      notice("Not connected: the message was not sent. Reconnecting\u2026");
      return false;
    }
    state.ws.send(JSON.stringify(data));
    return true;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !state.persona) return;
    remember(text);
    input.value = "";
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
      if (state.queued.length < 5) state.queued.push(text);
      setWorking("Not connected yet: sending as soon as the connection is back\u2026");
      return;
    }
    command(text);
  });

  function command(text) {
    if (!send({ type: "command", text, client_id: clientId() })) return;
    setWorking(`Working on \u201c${text.length > 40 ? `${text.slice(0, 40)}\u2026` : text}\u201d\u2026`);
  }

  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowUp" && !event.shiftKey) { event.preventDefault(); recall(-1); }
    else if (event.key === "ArrowDown" && !event.shiftKey) { event.preventDefault(); recall(1); }
    else if (event.key === "Escape" && state.historyAt !== -1) { input.value = state.draft; state.historyAt = -1; }
  });

  // ---- connection --------------------------------------------------------------------------

  function setConnection(kind, text) {
    connection.dataset.state = kind;
    connection.querySelector(".connection-text").textContent = text;
    const online = kind === "online";
    input.disabled = !state.persona;
    sendButton.disabled = !state.persona;
    input.placeholder = !state.persona ? (state.signedIn ? "Sign in again to continue" : "Choose a persona first")
      : online ? "Type a command, e.g. help" : "Connecting\u2026 commands are sent once connected";
  }

  function receive(raw) {
    let data;
    try { data = JSON.parse(raw); } catch { return; }
    switch (data.type) {
      case "hello":
        state.retries = 0;
        setConnection("online", `Connected as ${data.persona}`);
        showHistory(Array.isArray(data.history) ? data.history : []);
        state.queued.splice(0).forEach(command);
        break;
      case "message":
        addMessage(data.message);
        if (data.message?.kind !== "said") { setWorking(""); clearBusy(); refreshPersonasSoon(); }
        break;
      case "update":
        updateMessage(data.message);
        clearBusy();
        refreshPersonasSoon();
        break;
      case "signed-out":
        signedOut();
        break;
      case "error":
        notice(`The console refused that: ${data.error}`);
        setWorking("");
        clearBusy();
        break;
      default:
        break; // "ack": the reply arrives as a message or an update
    }
  }

  function connect() {
    clearTimeout(state.retryTimer);
    const old = state.ws;
    const generation = ++state.generation;
    if (old) old.close(1000, "switching persona");
    if (!state.persona) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = state.signedIn ? "" : `?persona=${encodeURIComponent(state.persona.id)}`;
    const ws = new WebSocket(`${scheme}//${location.host}/console/ws${query}`);
    state.ws = ws;
    setConnection("connecting", `Connecting as ${state.persona.email}\u2026`);
    ws.addEventListener("message", (e) => { if (generation === state.generation) receive(e.data); });
    ws.addEventListener("close", (event) => {
      if (generation !== state.generation) return;
      state.ws = null;
      if (event.code === SIGNED_OUT) signedOut();
      else reconnectLater();
    });
  }

  function reconnectLater() {
    const delay = Math.min(10000, 500 * 2 ** state.retries);
    state.retries += 1;
    setConnection("offline", `Connection lost; retrying in ${Math.round(delay / 1000) || 1} s`);
    clearBusy();
    setWorking("");
    state.retryTimer = setTimeout(async () => {
      if (state.signedIn && state.retries > 2) {
        // A sign-out or an expiry refuses the socket: ask whether the session is still live.
        if (!await loadSession().catch(() => true)) { signedOut(); return; }
      } else if (state.retries > 2) {
        // The persona may be gone (a fresh demo database): check before trying again.
        await loadPersonas().catch(() => {});
        const still = state.personas.find((p) => p.id === state.persona?.id);
        if (!still) {
          state.persona = null;
          renderPersonas();
          setConnection("offline", "That persona no longer exists; choose another");
          return;
        }
      }
      connect();
    }, delay);
  }

  window.addEventListener("online", () => { if (state.persona && !state.ws) connect(); });

  // ---- personas ----------------------------------------------------------------------------

  let refreshTimer = 0;

  function refreshPersonasSoon() {
    clearTimeout(refreshTimer);
    const load = state.signedIn ? loadSession : loadPersonas;
    refreshTimer = setTimeout(() => load().catch(() => {}), 400); // roles may have changed
  }

  // ---- signed in (production) --------------------------------------------------------------

  // True while the session is live (the page shows its person), false once it is not.
  async function loadSession() {
    const response = await fetch("/console/api/session", { headers: { Accept: "application/json" } });
    if (response.status === 401) return false;
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const data = await response.json();
    if (data.mode !== "signed-in" || !data.persona) return false;
    state.persona = data.persona;
    account.querySelector(".account-text").replaceChildren(
      h("strong", null, data.persona.name), h("br"), data.persona.email, h("br"),
      h("span", { class: "persona-roles" }, roleChips(data.persona.roles)));
    renderCurrent();
    return true;
  }

  function signedOut() {
    clearTimeout(state.retryTimer);
    state.generation += 1;
    if (state.ws) state.ws.close(1000, "signed out");
    state.ws = null;
    state.persona = null;
    renderCurrent();
    setConnection("offline", "Your console session has ended");
    notice("Your console session has ended. Type `console` to deskhand in Slack or Teams for a new sign-in link.");
  }

  account.querySelector("[data-testid=sign-out]").addEventListener("click", async () => {
    await fetch("/console/signout", { method: "POST" }).catch(() => {});
    location.assign("/console");
  });

  async function loadPersonas() {
    const response = await fetch("/console/api/personas", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const list = await response.json();
    state.personas = Array.isArray(list) ? list : [];
    if (state.persona) state.persona = state.personas.find((p) => p.id === state.persona.id) || state.persona;
    renderPersonas();
  }

  function roleChips(roles) {
    if (!roles || !roles.length) return h("span", { class: "chip chip-none" }, "no roles");
    return roles.map((r) => h("span", { class: "chip" }, r));
  }

  function renderPersonas() {
    personaList.removeAttribute("aria-busy");
    personaList.replaceChildren(...state.personas.map((p) => {
      const selected = state.persona?.id === p.id;
      return h("li", null, h("button", {
        type: "button", class: `persona${selected ? " persona-selected" : ""}`,
        "aria-pressed": selected ? "true" : "false", "data-testid": "persona", "data-email": p.email,
        onclick: () => choose(p),
      },
      h("span", { class: `avatar avatar-person ${hue(p.name)}`, "aria-hidden": "true" }, initials(p.name)),
      h("span", { class: "persona-text" },
        h("span", { class: "persona-name" }, p.name,
          p.active ? null : h("span", { class: "chip chip-off" }, "deactivated")),
        h("span", { class: "persona-email" }, p.email),
        h("span", { class: "persona-roles" }, roleChips(p.roles)))));
    }));
    renderCurrent();
  }

  function renderCurrent() {
    const p = state.persona;
    current.hidden = !p;
    if (!p) return;
    const avatar = current.querySelector(".avatar");
    avatar.className = `avatar avatar-sm avatar-person ${hue(p.name)}`;
    avatar.textContent = initials(p.name);
    current.querySelector(".current-persona-text").replaceChildren(
      h("span", { class: "current-label" }, "Acting as "), h("strong", null, p.name),
      h("span", { class: "current-email" }, p.email));
  }

  function choose(persona) {
    if (state.persona?.id === persona.id && state.ws) { input.focus(); return; }
    state.persona = persona;
    state.retries = 0;
    try { localStorage.setItem(PERSONA_KEY, persona.email); } catch { /* private mode */ }
    history.replaceState(null, "", `#as=${encodeURIComponent(persona.email)}`);
    renderPersonas();
    log.replaceChildren(h("div", { class: "empty" }, h("p", null, `Joining as ${persona.name}\u2026`)));
    setWorking("");
    state.queued = []; // typed for the previous persona
    connect();
    input.focus();
  }

  async function start() {
    let mode = "personas";
    try {
      const response = await fetch("/console/api/session", { headers: { Accept: "application/json" } });
      mode = response.status === 401 ? "signed-out" : (await response.json()).mode;
    } catch { /* not answering: the persona list below says so */ }
    if (mode !== "personas") {
      state.signedIn = true;
      picker.hidden = true;
      account.hidden = false;
      if (mode === "signed-in" && await loadSession().catch(() => false)) connect();
      else signedOut();
      return;
    }
    try {
      await loadPersonas();
    } catch (err) {
      personaList.replaceChildren(h("li", { class: "personas-error", role: "alert" },
        `Could not load personas (${err.message}). Is deskhand running? Reload to try again.`));
      return;
    }
    const wanted = new URLSearchParams(location.hash.slice(1)).get("as")
      || (() => { try { return localStorage.getItem(PERSONA_KEY); } catch { return null; } })();
    const persona = wanted && state.personas.find((p) => p.email === wanted.toLowerCase());
    if (persona) choose(persona);
  }

  start();
})();
