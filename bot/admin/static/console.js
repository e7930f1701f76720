// Sapa Pekerja console: the only script. Asks before destructive actions, shows the retrain's
// progress, counts a campaign's audience as its filters change, follows a campaign's progress,
// the Percakapan queue, a conversation's new messages and the menu's badge; every page works
// without it. Text from the server is set as text; only the
// preview's bubbles are HTML, which the server escaped as the channel adapters do.
"use strict";

// A notice belongs to the action that led here: drop its code from the address, so a reload
// (or the campaign page reloading itself) does not show it again.
const here = new URL(window.location.href);
if (here.searchParams.has("ok")) {
  here.searchParams.delete("ok");
  window.history.replaceState(null, "", here.pathname + here.search + here.hash);
}

document.addEventListener("submit", (event) => {
  const asking = [event.submitter, event.target].find((el) => el && el.dataset.confirm);
  if (asking && !window.confirm(asking.dataset.confirm)) event.preventDefault();
});

// A JSON answer; the network down or a page that is not JSON (a proxy's error) is an answer
// too, so a poll carries on when the server is back.
const getJson = async (url) => {
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    return { ok: response.ok, body: await response.json() };
  } catch {
    return { ok: false, body: { error: "Server tidak terjangkau; dicoba lagi sebentar lagi." } };
  }
};

const statusBox = document.getElementById("model-status");
if (statusBox) {
  const poll = async () => {
    const response = await fetch(statusBox.dataset.statusUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const status = await response.json();
    const training = status.training || {};
    statusBox.textContent =
      `Tersimpan: versi ${status.knowledge_version} · dilayani proses ini: versi ` +
      `${status.serving.knowledge_version}. Pelatihan terakhir: ${training.state_text || "-"} ` +
      `untuk versi ${training.kb_version || "-"}` +
      (training.error ? `: ${training.error}` : "") + ".";
    const settled = training.state !== "training" &&
      status.serving.knowledge_version === status.knowledge_version &&
      status.serving.model_version === status.model_version;
    if (!settled) window.setTimeout(poll, 2000);
  };
  poll();
}

// The new-campaign form: count the audience and redraw the preview while filters and text change.
const campaignForm = document.getElementById("campaign-form");
if (campaignForm) {
  const count = document.getElementById("live-count");
  const reachable = document.getElementById("live-reachable");
  const about = document.getElementById("live-about");
  const estimate = document.getElementById("live-estimate");
  const channels = document.getElementById("live-channels");
  const windowNote = document.getElementById("live-window");
  const sample = document.getElementById("live-sample");
  const bubble = document.getElementById("bubble-template");
  const drawChat = (chat, bubbles) => {
    chat.replaceChildren(...bubbles.map((b) => {
      const node = bubble.content.firstElementChild.cloneNode(true);
      node.querySelector(".text").innerHTML = b.html; // escaped by the server (bubbles.py)
      node.querySelector(".keys").replaceChildren(...b.rows.map((row) => {
        const line = document.createElement("div");
        line.className = "key-row";
        line.replaceChildren(...row.map((title) => {
          const key = document.createElement("span");
          key.className = "key";
          key.textContent = title;
          return key;
        }));
        return line;
      }));
      node.querySelector(".menu").replaceChildren(...b.menu.map((title) => {
        const item = document.createElement("li");
        item.textContent = title;
        return item;
      }));
      return node;
    }));
  };
  let timer = 0;
  let asked = 0;
  const refresh = async () => {
    const query = new URLSearchParams(new FormData(campaignForm));
    query.delete("csrf");
    const mine = ++asked;
    const { ok, body } = await getJson(`${campaignForm.dataset.previewUrl}?${query}`);
    if (mine !== asked) return; // a newer answer is on its way
    if (!ok) {
      count.textContent = "–";
      reachable.textContent = "–";
      channels.textContent = "";
      windowNote.textContent = body.fields ? Object.values(body.fields).join("; ") : body.error;
      return;
    }
    count.textContent = body.total;
    reachable.textContent = body.reachable;
    about.textContent = body.estimated ? "sekitar " : "";
    estimate.hidden = !body.estimated;
    const parts = Object.entries(body.by_channel).sort().map(([name, n]) => `${name} ${n}`);
    channels.textContent = parts.length ? ` (${parts.join(", ")})` : "";
    windowNote.textContent = body.outside_window
      ? `${body.outside_window} kontak WhatsApp belum menulis dalam 24 jam: mereka hanya bisa ` +
        "menerima template." : "";
    sample.replaceChildren(...body.sample.map((s) => {
      const item = document.createElement("li");
      const about = document.createElement("span");
      about.className = "muted";
      about.textContent = [` · ${s.channel}`, s.pekerjaan, s.wilayah].filter(Boolean).join(" · ");
      item.append(s.name || "(tanpa nama)", " ", about);
      return item;
    }));
    drawChat(document.querySelector("[data-chat=whatsapp]"), body.whatsapp);
    drawChat(document.querySelector("[data-chat=telegram]"), body.telegram);
    document.querySelector("[data-preview-name]").textContent = body.name;
    const template = body.template;
    document.querySelector("[data-with-template]").hidden = !template;
    document.querySelector("[data-without-template]").hidden = Boolean(template);
    document.querySelector("[data-template-name]").textContent = template ? template.name : "";
    document.querySelector("[data-template-language]").textContent =
      template ? template.language : "";
    document.querySelector("[data-template-params]").replaceChildren(
      ...(template ? template.parameters : []).map((value) => {
        const item = document.createElement("li");
        item.textContent = value;
        return item;
      }));
  };
  const later = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  };
  campaignForm.addEventListener("input", later);
  campaignForm.addEventListener("change", later);
}

// A campaign's page: redraw its counters every 2 s; reload when its status changes (the buttons
// differ), and stop once it is over.
const progressBox = document.getElementById("campaign-progress");
if (progressBox) {
  const barTemplate = document.getElementById("bar-template");
  const fill = (bar, value, total) => {
    bar.max = Math.max(total, 1);
    bar.value = value;
  };
  const setBar = (row, value, total) => {
    fill(row.querySelector("progress"), value, total);
    row.querySelector(".value").textContent = value;
  };
  const poll = async () => {
    const { ok, body } = await getJson(progressBox.dataset.progressUrl);
    if (!ok) return;
    if (body.status !== progressBox.dataset.status) {
      window.location.replace(window.location.pathname); // without the last action's notice
      return;
    }
    const counts = body.progress;
    for (const field of progressBox.querySelectorAll("[data-count]")) {
      field.textContent = counts[field.dataset.count];
    }
    progressBox.querySelector("[data-field=status_text]").textContent = body.status_text;
    progressBox.querySelector("[data-field=totals_at]").textContent = body.totals_at.slice(11, 19);
    progressBox.querySelector("[data-field=enqueuing]").textContent =
      body.enqueued || !["running", "paused"].includes(body.status) ? "" : " (masih dimuat)";
    fill(progressBox.querySelector("[data-bar=finished]"), counts.finished, counts.queued);
    for (const row of progressBox.querySelectorAll("[data-bars] [data-key]")) {
      setBar(row, counts[row.dataset.key], counts.queued);
    }
    if (body.skipped.length) {
      progressBox.querySelector("[data-skipped]").replaceChildren(...body.skipped.map((s) => {
        const row = barTemplate.content.firstElementChild.cloneNode(true);
        row.dataset.key = `skipped:${s.reason}`;
        row.querySelector(".label").textContent = s.label;
        setBar(row, s.count, counts.queued);
        return row;
      }));
    }
    if (!["done", "cancelled"].includes(body.status)) window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 2000);
}

// Percakapan: a worker's new message shows in the conversation without a reload; when the
// conversation is taken, handed over or closed meanwhile, the page reloads (unless a reply is
// being written, which is never lost).
const thread = document.querySelector("[data-handoff-url]");
if (thread) {
  const template = document.getElementById("msg-template");
  const reply = document.getElementById("text");
  const poll = async () => {
    const { ok, body } = await getJson(thread.dataset.handoffUrl);
    if (ok) {
      const shown = Number(thread.dataset.count);
      for (const m of body.messages.slice(shown)) {
        const node = template.content.firstElementChild.cloneNode(true);
        node.classList.add(m.by_staff ? "staff" : m.who);
        node.querySelector("small").textContent = `${m.who_name} · ${m.at.slice(0, 16).replace("T", " ")}`;
        node.querySelector("p").textContent = m.text;
        thread.append(node);
      }
      thread.dataset.count = String(Math.max(shown, body.messages.length));
      const moved = body.status !== thread.dataset.status || body.taken_by !== thread.dataset.takenBy;
      if (moved && !(reply && reply.value.trim())) {
        window.location.replace(window.location.pathname);
        return;
      }
      if (body.status === "closed") return;
    }
    window.setTimeout(poll, 3000);
  };
  window.setTimeout(poll, 3000);
}

// The Percakapan list: reloads itself when a conversation arrives, moves or gets a message.
const queue = document.querySelector("[data-handoffs-url]");
if (queue) {
  const poll = async () => {
    const { ok, body } = await getJson(queue.dataset.handoffsUrl);
    const now = ok ? body.map((h) => `${h.id}:${h.last_activity}:${h.taken_by} `).join("") : null;
    if (now !== null && now !== queue.dataset.shown) {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, 5000);
  };
  window.setTimeout(poll, 5000);
}

// The menu's badge: conversations waiting for staff, kept current on every page.
const handoffLink = document.querySelector("nav a[href='/admin/percakapan']");
if (handoffLink) {
  const poll = async () => {
    const { ok, body } = await getJson("/admin/api/handoffs?status=open");
    if (ok) {
      let badge = handoffLink.querySelector(".badge");
      if (body.length && !badge) {
        badge = document.createElement("span");
        badge.className = "badge";
        handoffLink.append(" ", badge);
      }
      if (badge && body.length) {
        badge.textContent = String(body.length);
        badge.title = `${body.length} menunggu petugas`;
      } else if (badge) {
        badge.remove();
      }
    }
    window.setTimeout(poll, 10000);
  };
  window.setTimeout(poll, 10000);
}
