/* medsage workspace: plain JS, no build step, no CDN.
 * Every piece of user or model text is inserted with textContent, never innerHTML. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const I18N = window.MEDSAGE_I18N;
  let lang = localStorage.getItem("medsage.lang") || (navigator.language || "en").slice(0, 2);
  if (!I18N[lang]) lang = "en";
  let lastNote = null;

  function t(key, vars) {
    let s = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", String(v));
    return s;
  }
  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    });
    $("lang").value = lang;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function status(msg, isError) {
    $("status").textContent = msg || "";
    $("status").className = isError ? "error" : "";
  }
  // the API key lives only as long as the tab (sessionStorage), never in localStorage
  localStorage.removeItem("medsage.key");
  function key() { return sessionStorage.getItem("medsage.key") || ""; }
  function headers(json) {
    const h = {};
    if (key()) h.Authorization = "Bearer " + key();
    if (json) h["Content-Type"] = "application/json";
    return h;
  }
  async function errorText(resp) {
    try {
      const body = await resp.json();
      if (resp.status === 501) return t("not_available") + " (" + body.error.message + ")";
      return t("error") + " " + resp.status + ": " + body.error.message;
    } catch (e) {
      return t("error") + " " + resp.status;
    }
  }
  async function api(path, opts) {
    const resp = await fetch(path, opts);
    if (!resp.ok) throw new Error(await errorText(resp));
    return resp.json();
  }

  // ---- tabs, settings -------------------------------------------------------
  document.querySelectorAll("nav [data-tab]").forEach((b) => b.addEventListener("click", () => {
    document.querySelectorAll("nav [data-tab]").forEach((x) => x.classList.toggle("active", x === b));
    document.querySelectorAll(".panel").forEach((p) => p.classList.toggle("active", p.id === "panel-" + b.dataset.tab));
  }));
  $("lang").addEventListener("change", () => {
    lang = $("lang").value;
    localStorage.setItem("medsage.lang", lang);
    applyLang();
    if (lastNote) renderNote(lastNote);
  });
  $("save-key").addEventListener("click", async () => {
    sessionStorage.setItem("medsage.key", $("apikey").value.trim());
    try {
      await api("/v1/whoami", { headers: headers() });
      status(t("key_saved"));
      loadModels();
    } catch (e) {
      status(t("key_bad"), true);
    }
  });
  async function loadModels() {
    try {
      const data = await api("/v1/models", { headers: headers() });
      const sel = $("model");
      const prev = sel.value || localStorage.getItem("medsage.model");
      sel.textContent = "";
      for (const m of data.data) sel.appendChild(new Option(m.id, m.id));
      const ids = data.data.map((m) => m.id);
      if (prev && ids.includes(prev)) sel.value = prev;
      else if (ids.includes("medsage-rag")) sel.value = "medsage-rag";
    } catch (e) {
      status(e.message, true);
    }
  }
  $("model").addEventListener("change", () => localStorage.setItem("medsage.model", $("model").value));

  // ---- Ask --------------------------------------------------------------------
  function renderFindings(list, findings) {
    list.textContent = "";
    if (!findings || !findings.length) { list.appendChild(el("li", "muted", t("no_findings"))); return; }
    for (const f of findings) {
      const li = el("li", "finding sev-" + (f.severity || "info"));
      li.appendChild(el("span", "badge", f.severity || "info"));
      li.appendChild(el("span", "ftype", f.type || ""));
      li.appendChild(el("span", "fmsg", f.message || ""));
      list.appendChild(li);
    }
  }
  function showSource(c) {
    const box = $("source-view");
    box.textContent = "";
    box.className = "source";
    box.appendChild(el("h3", "", "[" + c.n + "] " + (c.title || c.doc_id || "")));
    box.appendChild(el("p", "snippet", c.snippet || ""));
    if (c.source || c.url) box.appendChild(el("p", "muted", c.source || c.url));
  }
  /* Render answer text with [n] markers turned into buttons (text nodes only). */
  function renderAnswer(target, text, citations) {
    target.textContent = "";
    const byN = new Map((citations || []).map((c) => [Number(c.n), c]));
    const re = /\[(\d{1,3})\]/g;
    let last = 0, m;
    while ((m = re.exec(text)) !== null) {
      target.appendChild(document.createTextNode(text.slice(last, m.index)));
      const c = byN.get(Number(m[1]));
      if (c) {
        const b = el("button", "cite", "[" + m[1] + "]");
        b.type = "button";
        b.addEventListener("click", () => showSource(c));
        target.appendChild(b);
      } else {
        target.appendChild(document.createTextNode(m[0]));
      }
      last = re.lastIndex;
    }
    target.appendChild(document.createTextNode(text.slice(last)));
  }
  function renderCitationList(box, citations) {
    if (!citations || !citations.length) return;
    const ol = el("ol", "citations");
    ol.setAttribute("aria-label", t("citations"));
    for (const c of citations) {
      const li = el("li");
      const b = el("button", "cite", "[" + c.n + "] " + (c.title || c.doc_id || ""));
      b.type = "button";
      b.addEventListener("click", () => showSource(c));
      li.appendChild(b);
      ol.appendChild(li);
    }
    box.appendChild(ol);
  }
  async function* sseEvents(resp) {
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        for (const line of ev.split("\n")) if (line.startsWith("data: ")) yield line.slice(6);
      }
    }
  }
  $("ask-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = $("ask-input").value.trim();
    if (!q) return;
    if (!key()) { status(t("need_key"), true); }
    const log = $("chat-log");
    const mine = el("div", "msg user");
    mine.appendChild(el("div", "who", t("you")));
    mine.appendChild(el("div", "text", q));
    log.appendChild(mine);
    const reply = el("div", "msg assistant");
    reply.appendChild(el("div", "who", t("assistant")));
    const body = el("div", "text answer", t("working"));
    reply.appendChild(body);
    log.appendChild(reply);
    $("ask-send").disabled = true;
    status("");
    let text = "", extras = null;
    try {
      const resp = await fetch("/v1/chat/completions", {
        method: "POST", headers: headers(true),
        body: JSON.stringify({ model: $("model").value, stream: true, deid: $("ask-deid").checked,
          messages: [{ role: "user", content: q }] }),
      });
      if (!resp.ok) throw new Error(await errorText(resp));
      for await (const data of sseEvents(resp)) {
        if (data === "[DONE]") break;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        const ch = chunk.choices && chunk.choices[0];
        if (ch && ch.delta && ch.delta.content) { text += ch.delta.content; body.textContent = text; }
        if (chunk.medsage) extras = chunk.medsage;
      }
      const cites = (extras && extras.citations) || [];
      renderAnswer(body, text, cites);
      renderCitationList(reply, cites);
      if (extras && extras.deid_applied) reply.appendChild(el("div", "muted", t("deid_applied")));
      renderFindings($("ask-findings"), extras ? extras.findings : []);
      $("ask-input").value = "";
    } catch (e) {
      body.textContent = e.message;
      body.classList.add("error");
    } finally {
      $("ask-send").disabled = false;
    }
  });

  // ---- Notes ------------------------------------------------------------------
  function highlight(ids, on) {
    for (const id of ids || []) {
      const li = document.querySelector('#note-turns li[data-turn="' + CSS.escape(id) + '"]');
      if (li) li.classList.toggle("hl", on);
    }
  }
  function renderNote(res) {
    lastNote = res;
    const note = res.note || {};
    const turns = $("note-turns");
    turns.textContent = "";
    for (const tr of res.turns || []) {
      const li = el("li");
      li.dataset.turn = tr.id;
      li.appendChild(el("span", "speaker", (tr.speaker || tr.role || "") + ": "));
      li.appendChild(el("span", "", tr.text));
      turns.appendChild(li);
    }
    const box = $("note-sections");
    box.textContent = "";
    let n = 0, u = 0;
    for (const sec of note.sections || []) {
      const s = el("section", "note-section");
      s.dataset.section = sec.id;
      s.appendChild(el("h3", "", sec.title || sec.id));
      const p = el("div", "sentences");
      p.contentEditable = "true";
      p.spellcheck = false;
      for (const sent of sec.sentences || []) {
        n += 1;
        const span = el("span", "sentence", sent.text);
        span.dataset.turns = (sent.turn_ids || []).join(" ");
        if (!sent.supported) { u += 1; span.classList.add("flag"); span.title = t("unsupported"); }
        span.addEventListener("mouseenter", () => highlight(sent.turn_ids, true));
        span.addEventListener("mouseleave", () => highlight(sent.turn_ids, false));
        p.appendChild(span);
        p.appendChild(document.createTextNode(" "));
      }
      s.appendChild(p);
      box.appendChild(s);
    }
    $("note-summary").textContent = t("note_summary", { n: n, u: u });
    const om = $("note-omissions");
    om.textContent = "";
    for (const o of note.omissions || []) {
      const li = el("li", "finding sev-moderate", o.concept + (o.kind ? " (" + o.kind + ")" : ""));
      li.addEventListener("mouseenter", () => highlight(o.turn_ids, true));
      li.addEventListener("mouseleave", () => highlight(o.turn_ids, false));
      om.appendChild(li);
    }
    $("note-out").hidden = false;
  }
  /* The note as currently edited on screen. */
  function editedNote() {
    const sections = [];
    document.querySelectorAll("#note-sections .note-section").forEach((s) => {
      sections.push({ id: s.dataset.section, title: s.querySelector("h3").textContent,
        text: s.querySelector(".sentences").innerText.trim() });
    });
    return { sections: sections, source: lastNote ? lastNote.note : null };
  }
  function download(name, type, text) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }
  $("export-md").addEventListener("click", () => {
    const md = editedNote().sections.map((s) => "## " + s.title + "\n\n" + s.text + "\n").join("\n");
    download("note.md", "text/markdown", md + "\n> " + t("disclaimer") + "\n");
  });
  $("export-json").addEventListener("click", () => {
    download("note.json", "application/json", JSON.stringify(editedNote(), null, 2));
  });
  $("note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("note-file").files[0];
    const deid = $("note-deid").checked;
    let opts;
    if (file) {
      const fd = new FormData();
      fd.append("file", file, file.name);
      fd.append("model", $("model").value);
      fd.append("deid", deid ? "true" : "false");
      fd.append("language", lang);
      opts = { method: "POST", headers: headers(false), body: fd };
    } else {
      const text = $("note-input").value.trim();
      if (!text) return;
      opts = { method: "POST", headers: headers(true),
        body: JSON.stringify({ transcript: text, model: $("model").value, deid: deid }) };
    }
    $("note-go").disabled = true;
    status(t("working"));
    try {
      renderNote(await api("/v1/notes", opts));
      status("");
    } catch (e) {
      status(e.message, true);
    } finally {
      $("note-go").disabled = false;
    }
  });

  // ---- Safety -----------------------------------------------------------------
  const list = (s) => s.split(/[,，;；\n]/).map((x) => x.trim()).filter(Boolean);
  const num = (id) => ($(id).value === "" ? null : Number($(id).value));
  $("safety-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const payload = {
      medications: $("meds").value.split("\n").map((x) => x.trim()).filter(Boolean),
      text: $("safety-text").value.trim() || null,
      deid: $("safety-deid").checked,
      language: lang,
      patient: { age: num("p-age"), weight_kg: num("p-weight"), sex: $("p-sex").value || null,
        egfr: num("p-egfr"), pregnant: $("p-pregnant").checked || null,
        allergies: list($("p-allergies").value), conditions: list($("p-conditions").value) },
    };
    $("safety-go").disabled = true;
    status(t("working"));
    try {
      const res = await api("/v1/safety/check", { method: "POST", headers: headers(true),
        body: JSON.stringify(payload) });
      const tbody = document.querySelector("#safety-table tbody");
      tbody.textContent = "";
      for (const f of res.findings) {
        const tr = el("tr", "sev-" + (f.severity || "info"));
        tr.appendChild(el("td", "", f.severity));
        tr.appendChild(el("td", "", f.type));
        tr.appendChild(el("td", "", f.message));
        tr.appendChild(el("td", "", f.evidence));
        tbody.appendChild(tr);
      }
      $("safety-table").hidden = !res.findings.length;
      $("safety-none").hidden = !!res.findings.length;
      status("");
    } catch (e) {
      status(e.message, true);
    } finally {
      $("safety-go").disabled = false;
    }
  });

  // ---- start ------------------------------------------------------------------
  $("apikey").value = key();
  applyLang();
  loadModels();
})();
