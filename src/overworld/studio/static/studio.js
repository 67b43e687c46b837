// overworld studio page: the forms post to the JSON API, jobs are polled for progress, the history of
// takes is read from the studio on load (it keeps them in its work folder). No framework: the page is
// the only client of its own API. Every POST carries the session's token from the page's meta tag.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, takes: [], current: null, anchor: null, busy: false };
const TOKEN = document.querySelector('meta[name="overworld-token"]').content;

function say(text) { $("message").textContent = text || ""; }

async function api(url, options) {
  const request = { ...(options || {}) };
  if (request.method && request.method !== "GET") request.headers = { ...(request.headers || {}), "X-Overworld-Token": TOKEN };
  const response = await fetch(url, request);
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function setBusy(busy) {
  state.busy = busy;
  $("go").disabled = busy;
  $("regen").disabled = busy || !(state.info && state.info.can_bars);
  $("progress").hidden = !busy;
}

async function runJob(url, data) {
  say("");
  setBusy(true);
  $("status").textContent = "starting";
  try {
    const { job } = await api(url, { method: "POST", body: data });
    for (;;) {
      const j = await api(`/api/jobs/${job}`);
      $("status").textContent = j.step;
      if (j.share === null) $("progress").removeAttribute("value"); else $("progress").value = j.share;
      if (j.state === "done") { j.takes.forEach(addTake); showTake(j.takes.at(-1)); $("status").textContent = `take ${j.takes.at(-1).id} ready`; break; }
      if (j.state === "error") { say(j.error); $("status").textContent = ""; break; }
      await new Promise((r) => setTimeout(r, 300));
    }
  } catch (err) {
    say(err.message);
    $("status").textContent = "";
  } finally {
    setBusy(false);
  }
}

function addTake(take) {
  if (state.takes.some((t) => t.id === take.id)) return take;
  state.takes.push(take);
  const li = document.createElement("li");
  li.dataset.take = take.id;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = `Take ${take.id}: ${take.label} (seed ${take.seed}, ${take.seconds.toFixed(1)} s)`;
  button.addEventListener("click", () => showTake(take));
  li.appendChild(button);
  $("history").appendChild(li);
  return take;
}

async function showTake(take) {
  state.current = take;
  state.anchor = null;
  $("result").hidden = false;
  $("take-title").textContent = `Take ${take.id}: ${take.label}`;
  $("player").src = take.mix;
  $("download").href = take.zip;
  $("download").setAttribute("download", `overworld-take-${take.id}.zip`);
  for (const li of $("history").children) li.classList.toggle("current", li.dataset.take === String(take.id));
  const svg = await fetch(take.roll).then((r) => r.text());
  if (state.current !== take) return;  // another take was chosen while this roll loaded
  $("roll").innerHTML = svg;
  for (const bar of $("roll").querySelectorAll("rect.bar")) {
    bar.addEventListener("mousedown", (e) => { e.preventDefault(); pick(Number(bar.dataset.bar), e.shiftKey); state.dragging = true; });
    bar.addEventListener("mouseenter", () => { if (state.dragging) pick(Number(bar.dataset.bar), true); });
  }
  select(null, null);
}

function pick(bar, extend) {
  if (!extend || state.anchor === null) { state.anchor = bar; select(bar, bar); }
  else select(Math.min(state.anchor, bar), Math.max(state.anchor, bar));
}

function select(first, last) {
  $("first").value = first ?? "";
  $("last").value = last ?? "";
  for (const rect of $("roll").querySelectorAll("rect.bar")) {
    const n = Number(rect.dataset.bar);
    rect.classList.toggle("selected", first !== null && n >= first && n <= last);
  }
  $("selection").textContent = first === null
    ? "Click a bar on the roll (shift-click or drag for several) to regenerate it."
    : `Bars ${first}-${last} selected.`;
}

function movePlayhead() {
  const svg = $("roll").querySelector("svg");
  const line = svg && svg.querySelector("#playhead");
  if (!line) return;
  const x = ($("player").currentTime / Number(svg.dataset.seconds)) * Number(svg.getAttribute("width"));
  line.setAttribute("x1", x); line.setAttribute("x2", x);
  const box = $("roll");
  if (x < box.scrollLeft || x > box.scrollLeft + box.clientWidth - 40) box.scrollLeft = Math.max(0, x - 40);
}

function showMode() {
  const compose = $("mode").value === "compose";
  $("compose-controls").hidden = !compose;
  $("generate-controls").hidden = compose;
  $("go").textContent = compose ? "Compose" : "Generate";
}

function fill(select, values) {
  for (const [value, text] of values) {
    const option = document.createElement("option");
    option.value = value; if (text !== undefined) option.textContent = text;
    select.appendChild(option);
  }
}

// one control of the page, from its config field (GET /api/info's widgets: name, label, kind, range...)
function widget(w) {
  const label = document.createElement("label");
  label.title = w.help;
  label.append(`${w.label} `);
  let input;
  if (w.kind === "select") {
    input = document.createElement("select");
    const choices = w.choices ? [["", "none"], ...Object.entries(w.choices).map(([k, d]) => [k, d ? `${k}: ${d}` : k])]
      : [["", `model's (${w.value ? "on" : "off"})`], ["on", "on"], ["off", "off"]];
    fill(input, choices);
    if (w.choices) input.value = w.value;
  } else {
    input = document.createElement("input");
    input.type = w.kind === "text" ? "text" : w.kind;
    if (w.kind === "checkbox") { input.value = "on"; input.checked = Boolean(w.value); label.className = "check"; }
    for (const key of ["min", "max", "step", "placeholder", "value"]) {
      if (w[key] !== undefined && w.kind !== "checkbox") input[key] = w[key];
    }
  }
  input.name = w.name;
  input.id = w.name;
  label.appendChild(input);
  return label;
}

async function start() {
  const info = await api("/api/info");
  state.info = info;
  $("model").textContent = `model: ${info.model} (${info.tokens} tokens)`;
  fill($("keys"), info.keys.map((k) => [k]));
  fill($("forms"), info.forms.map((k) => [k]));
  fill($("time_signature"), info.time_signatures.map((t) => [t, t]));
  for (const w of info.widgets.sampling) $("sampling-controls").appendChild(widget(w));
  for (const w of info.widgets.compose) $("compose-controls").appendChild(widget(w));
  $("bars").max = info.max_bars;
  if (info.limitation) { $("limitation").textContent = info.limitation; $("limitation").hidden = false; }
  if (!info.can_bars) { $("mode").value = "generate"; $("bars").placeholder = "seconds instead"; }
  showMode();
  setBusy(false);
  const takes = await api("/api/takes");  // the takes of earlier visits and of other tabs
  takes.forEach(addTake);
  if (takes.length) showTake(takes.at(-1));
}

document.addEventListener("DOMContentLoaded", () => {
  $("mode").addEventListener("change", showMode);
  $("compose").addEventListener("submit", (e) => { e.preventDefault(); if (!state.busy) runJob("/api/compose", new FormData($("compose"))); });
  $("regenerate").addEventListener("submit", (e) => {
    e.preventDefault();
    if (state.busy || !state.current) return;
    const data = new FormData($("regenerate"));
    for (const w of state.info.widgets.sampling) if (!data.has(w.name)) data.set(w.name, $(w.name).value);
    runJob(`/api/takes/${state.current.id}/regenerate`, data);
  });
  document.addEventListener("mouseup", () => { state.dragging = false; });
  $("player").addEventListener("timeupdate", movePlayhead);
  start().catch((err) => say(err.message));
});
