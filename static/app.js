// cachewarden dashboard: live updates and chart hover. Pages work without it.
"use strict";

// Parts marked data-live="ms" are fetched again every so often while their work runs; the
// new copy replaces the old, and stops the refresh once it is no longer live.
function live(el) {
  const every = Number(el.dataset.live);
  if (!every) return;
  setTimeout(async () => {
    try {
      const res = await fetch(location.href, { credentials: "same-origin" });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const fresh = doc.getElementById(el.id);
      if (!fresh) return;
      el.replaceWith(fresh);
      live(fresh);
    } catch (_) {
      live(el);
    }
  }, every);
}

// Values on hover: each line carries its points as "ts,value;…".
function hover(figure) {
  const svg = figure.querySelector("svg");
  const lines = [...figure.querySelectorAll("path.line")].map((p) => ({
    label: p.dataset.label,
    points: (p.dataset.points || "").split(";").filter(Boolean).map((s) => s.split(",").map(Number)),
  }));
  const from = Number(figure.dataset.from), to = Number(figure.dataset.to);
  const tip = document.createElement("div");
  tip.className = "tip";
  tip.hidden = true;
  tip.setAttribute("role", "status");
  figure.appendChild(tip);
  const ratio = figure.querySelector(".unit").textContent.includes("percent");
  // The tip sits beside the pointer, on its left near the right edge so it is never cut off.
  const place = (x, y) => {
    const fig = figure.getBoundingClientRect();
    tip.hidden = false;
    const left = x - fig.left + 12;
    tip.style.left = `${left + tip.offsetWidth > fig.width ? Math.max(0, x - fig.left - tip.offsetWidth - 12) : left}px`;
    tip.style.top = `${y - fig.top + 12}px`;
  };
  // A mark (a job, an alarm transition) says what and who, on hover and on keyboard focus.
  figure.querySelectorAll(".mark").forEach((m) => {
    m.addEventListener("focus", () => {
      const r = m.getBoundingClientRect();
      tip.textContent = m.getAttribute("aria-label");
      place(r.left + r.width / 2, r.top + 8);
    });
    m.addEventListener("blur", () => { tip.hidden = true; });
  });
  svg.addEventListener("mousemove", (e) => {
    const mark = e.target.closest(".mark");
    if (mark) {
      tip.textContent = mark.getAttribute("aria-label");
      place(e.clientX, e.clientY);
      return;
    }
    if (!lines.some((l) => l.points.length)) return;
    const box = svg.getBoundingClientRect();
    const vb = svg.viewBox.baseVal;
    const plot = svg.querySelector(".plot");
    const x = ((e.clientX - box.left) / box.width) * vb.width;
    const x0 = plot.x.baseVal.value, w = plot.width.baseVal.value;
    const frac = Math.min(1, Math.max(0, (x - x0) / w));
    const ts = from + frac * (to - from);
    const rows = lines.map((l) => {
      let best = null;
      for (const p of l.points) if (!best || Math.abs(p[0] - ts) < Math.abs(best[0] - ts)) best = p;
      if (!best) return null;
      const v = ratio ? (best[1] * 100).toFixed(1) + " %" : best[1].toLocaleString();
      return `${l.label}: ${v} at ${new Date(best[0]).toISOString().slice(0, 16).replace("T", " ")} UTC`;
    }).filter(Boolean);
    tip.textContent = rows.join("\n");
    place(e.clientX, e.clientY);
  });
  svg.addEventListener("mouseleave", () => { tip.hidden = true; });
}

// A form that undoes or ends something asks first (cancel, revoke, end a silence).
document.addEventListener("submit", (e) => {
  const ask = e.target.dataset && e.target.dataset.confirm;
  if (ask && !window.confirm(ask)) e.preventDefault();
});

// Tables whose headers sort them: a click sorts by that column, again the other way. A cell's
// data-sort (a number) is used when it has one, else its text.
function sortable(table) {
  table.querySelectorAll("th button.sort").forEach((button) => {
    const th = button.closest("th");
    const column = [...th.parentNode.children].indexOf(th);
    button.addEventListener("click", () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th[aria-sort]").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const key = (row) => {
        const cell = row.children[column];
        const n = cell.dataset.sort;
        return n !== undefined && n !== "" && !isNaN(Number(n)) ? Number(n) : cell.textContent.trim().toLowerCase();
      };
      const body = table.tBodies[0];
      const rows = [...body.rows].sort((a, b) => {
        const x = key(a), y = key(b);
        const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach((r) => body.appendChild(r));
    });
  });
}

// Selecting a stretch of a chart (press, drag, release) opens the page on that range.
function zoom(figure, node) {
  const svg = figure.querySelector("svg");
  const plot = svg.querySelector(".plot");
  const from = Number(figure.dataset.from), to = Number(figure.dataset.to);
  const box = document.createElement("div");
  box.className = "zoom-box";
  box.hidden = true;
  figure.appendChild(box);
  // The time under a client x, within the plot.
  const timeAt = (clientX) => {
    const r = svg.getBoundingClientRect();
    const vb = svg.viewBox.baseVal;
    const x = ((clientX - r.left) / r.width) * vb.width;
    const x0 = plot.x.baseVal.value, w = plot.width.baseVal.value;
    return from + Math.min(1, Math.max(0, (x - x0) / w)) * (to - from);
  };
  let start = null;
  svg.addEventListener("mousedown", (e) => {
    if (e.button !== 0 || e.target.closest(".mark")) return;
    start = e.clientX;
    e.preventDefault();
  });
  window.addEventListener("mousemove", (e) => {
    if (start === null) return;
    const fig = figure.getBoundingClientRect(), r = svg.getBoundingClientRect();
    box.hidden = false;
    box.style.left = `${Math.min(start, e.clientX) - fig.left}px`;
    box.style.width = `${Math.abs(e.clientX - start)}px`;
    box.style.top = `${r.top - fig.top}px`;
    box.style.height = `${r.height}px`;
  });
  window.addEventListener("mouseup", (e) => {
    if (start === null) return;
    const a = timeAt(start), b = timeAt(e.clientX);
    start = null;
    box.hidden = true;
    if (Math.abs(b - a) < 60000) return;
    const q = new URLSearchParams({ from: Math.round(Math.min(a, b)), to: Math.round(Math.max(a, b)) });
    if (node) q.set("node", node);
    location.search = q.toString();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".charts.zoomable figure.chart").forEach((f) => zoom(f, f.closest(".charts").dataset.node));
  document.querySelectorAll("table.sortable").forEach(sortable);
  document.querySelectorAll("[data-live]").forEach(live);
  document.querySelectorAll("figure.chart").forEach(hover);
});
