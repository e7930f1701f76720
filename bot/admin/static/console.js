// Sapa Pekerja console: the only script. Asks before destructive actions and shows the
// retrain's progress; every page works without it.
"use strict";

document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

const statusBox = document.getElementById("model-status");
if (statusBox) {
  const poll = async () => {
    const response = await fetch(statusBox.dataset.statusUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const status = await response.json();
    const training = status.training || {};
    statusBox.textContent =
      `Tersimpan: versi ${status.knowledge_version} · dilayani proses ini: versi ` +
      `${status.serving.knowledge_version}. Pelatihan terakhir: ${training.state || "-"} ` +
      `untuk versi ${training.kb_version || "-"}` +
      (training.error ? `: ${training.error}` : "") + ".";
    const settled = training.state !== "melatih" &&
      status.serving.knowledge_version === status.knowledge_version &&
      status.serving.model_version === status.model_version;
    if (!settled) window.setTimeout(poll, 2000);
  };
  poll();
}
