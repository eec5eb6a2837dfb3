// The translator's review page (localize.review_page). Every piece of cue text is set
// with textContent or a form field's value: nothing from the draft becomes markup.
"use strict";

const draft = JSON.parse(document.getElementById("draft").textContent);
const base = `/review/${draft.run_id}`;
const video = document.getElementById("video");
const rows = [];          // one entry per cue: {tr, cue, start, end, edited}
let active = -1;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function clock(ms) {
  const m = Math.floor(ms / 60000), s = Math.floor(ms / 1000) % 60;
  return `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}.${String(ms % 1000).padStart(3, "0")}`;
}

function flagList(flags) {
  const ul = el("ul", { class: "flags" });
  for (const [code, severity, message] of flags) {
    const li = el("li", { class: severity, title: message }, `${code}: ${message}`);
    ul.append(li);
  }
  return ul;
}

function cueFlags(index) {
  const out = [];
  for (const lang of [draft.source_language, ...draft.targets]) {
    for (const f of (draft.flags[lang] || {})[index] || []) out.push([`${lang} ${f[0]}`, f[1], f[2]]);
  }
  return out;
}

function buildHead() {
  const tr = el("tr");
  for (const name of ["#", "time", draft.source_language, ...draft.targets, "speaker", "QC", "note"]) {
    tr.append(el("th", {}, name));
  }
  document.getElementById("head").append(tr);
}

function buildRow(cue) {
  const row = { cue, start: cue.start_ms, end: cue.end_ms, edited: {}, checks: {} };
  const tr = el("tr", { id: `cue-${cue.index}`, "data-index": cue.index });
  const flags = cueFlags(cue.index);
  if (flags.length) tr.classList.add("flagged");
  tr.append(el("td", { class: "index" }, String(cue.index)));
  const time = el("td", { class: "time" });
  row.timeLabel = el("div", { class: "clock" });
  time.append(row.timeLabel, nudges(row));
  tr.append(time);
  tr.append(el("td", { class: "source", lang: "zh" }, cue.source));
  for (const lang of draft.targets) {
    const td = el("td", { class: "target" });
    const area = el("textarea", { "data-lang": lang, rows: "2", "aria-label": `${lang} text of cue ${cue.index}` });
    area.value = cue.text[lang];
    area.addEventListener("input", () => edited(row, lang, area.value));
    const live = el("div", { class: "live", "data-lang": lang });
    row.checks[lang] = live;
    td.append(area, live);
    tr.append(td);
  }
  tr.append(el("td", { class: "speaker" }, cue.speaker || ""));
  const qc = el("td", { class: "qc" });
  qc.append(flagList(flags));
  tr.append(qc);
  const noteCell = el("td", { class: "note" });
  row.note = el("input", { type: "text", "aria-label": `note on cue ${cue.index}`, placeholder: "note" });
  noteCell.append(row.note);
  tr.append(noteCell);
  tr.addEventListener("click", (event) => {
    if (event.target.closest("textarea, input, button")) return;
    seekTo(rows.indexOf(row));
  });
  row.tr = tr;
  showTime(row);
  return row;
}

function nudges(row) {
  const box = el("div", { class: "nudges" });
  for (const [label, which, delta] of [["start −", "start", -100], ["start +", "start", 100],
                                       ["end −", "end", -100], ["end +", "end", 100]]) {
    const b = el("button", { type: "button", title: `${which} ${delta > 0 ? "+" : "−"}100 ms` }, label);
    b.addEventListener("click", () => {
      row[which] = Math.max(0, row[which] + delta);
      showTime(row);
      for (const lang of draft.targets) recheck(row, lang);
      updateTrackCue(row);
    });
    box.append(b);
  }
  return box;
}

function showTime(row) {
  row.timeLabel.textContent = `${clock(row.start)} – ${clock(row.end)}`;
  const moved = row.start !== row.cue.start_ms || row.end !== row.cue.end_ms;
  row.timeLabel.classList.toggle("changed", moved);
}

function textOf(row, lang) {
  return lang in row.edited ? row.edited[lang] : row.cue.text[lang];
}

function edited(row, lang, value) {
  if (value === row.cue.text[lang]) delete row.edited[lang];
  else row.edited[lang] = value;
  row.tr.classList.toggle("changed", Object.keys(row.edited).length > 0);
  updateTrackCue(row);
  clearTimeout(row.timer);
  row.timer = setTimeout(() => recheck(row, lang), 250);
}

async function recheck(row, lang) {
  const box = row.checks[lang];
  const body = { lang, index: row.cue.index, text: textOf(row, lang), start_ms: row.start, end_ms: row.end };
  const response = await fetch(`${base}/check`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json();
  box.replaceChildren();
  if (!response.ok) { box.append(el("span", { class: "error" }, answer.error)); return; }
  box.classList.toggle("ok", answer.flags.length === 0);
  if (answer.flags.length === 0) box.append(el("span", {}, "✓ fits the style profile"));
  else box.append(flagList(answer.flags.map((f) => [f.code, f.severity, f.message])));
}

// -- the video's text tracks follow the edits
function trackFor(lang) {
  if (!video) return null;
  for (const t of video.textTracks) if (t.language === lang) return t;
  return null;
}

function vttText(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function updateTrackCue(row) {
  for (const lang of draft.targets) {
    const track = trackFor(lang);
    const cue = track && track.cues ? track.cues[row.cue.index - 1] : null;
    if (!cue) continue;
    cue.text = vttText(textOf(row, lang));
    cue.startTime = row.start / 1000;
    cue.endTime = row.end / 1000;
  }
}

// -- playback
function seekTo(i) {
  if (!video || i < 0 || i >= rows.length) return;
  video.currentTime = rows[i].start / 1000 + 0.001;
  highlight(i);
}

function cueAt(seconds) {
  const ms = seconds * 1000;
  return rows.findIndex((r) => r.start <= ms && ms < r.end);
}

function highlight(i) {
  if (i === active) return;
  if (active >= 0) rows[active].tr.classList.remove("active");
  active = i;
  if (i >= 0) {
    rows[i].tr.classList.add("active");
    rows[i].tr.scrollIntoView({ block: "nearest" });
  }
}

function current() {
  if (active >= 0) return active;
  const ms = video ? video.currentTime * 1000 : 0;
  const next = rows.findIndex((r) => r.start > ms);
  return next < 0 ? rows.length : next - 1;
}

function nextFlagged() {
  const from = current();
  for (let k = 1; k <= rows.length; k++) {
    const i = (from + k) % rows.length;
    if (rows[i].tr.classList.contains("flagged")) return i;
  }
  return -1;
}

document.addEventListener("keydown", (event) => {
  const typing = event.target.closest && event.target.closest("textarea, input");
  if (event.key === "Escape" && typing) { event.target.blur(); return; }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  if (key === " " || key === "k") {
    event.preventDefault();
    if (video) { if (video.paused) video.play(); else video.pause(); }
  } else if (key === "j") { seekTo(Math.max(0, active >= 0 ? active - 1 : current())); }
  else if (key === "l") { seekTo(Math.min(rows.length - 1, current() + 1)); }
  else if (key === "f") { seekTo(nextFlagged()); }
});

// -- decision
function buildForm() {
  const form = document.getElementById("decision");
  form.append(el("h2", {}, "Decision"));
  const choices = el("fieldset", { class: "choices" });
  for (const d of draft.decisions) {
    const label = el("label");
    const radio = el("input", { type: "radio", name: "decision", value: d });
    label.append(radio, document.createTextNode(` ${d}`));
    choices.append(label);
  }
  form.append(choices);
  const reviewer = el("input", { type: "text", name: "reviewer", placeholder: "your name" });
  const notes = el("textarea", { name: "notes", rows: "3", placeholder: "notes for the manager" });
  const submit = el("button", { type: "submit", id: "submit" }, "Submit review");
  const message = el("p", { id: "message", role: "status" });
  form.append(el("label", {}, "Reviewer"), reviewer, el("label", {}, "Notes"), notes, submit, message);
  if (draft.error) message.append(el("span", { class: "error" }, `Your last input was not applied: ${draft.error}`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const choice = form.querySelector("input[name=decision]:checked");
    const body = {
      decision: choice ? choice.value : "",
      reviewer: reviewer.value, notes: notes.value,
      texts: [], timings: [], cue_notes: [],
    };
    for (const row of rows) {
      for (const [lang, text] of Object.entries(row.edited)) body.texts.push({ lang, index: row.cue.index, text });
      if (row.start !== row.cue.start_ms || row.end !== row.cue.end_ms) {
        body.timings.push({ index: row.cue.index, start_ms: row.start, end_ms: row.end });
      }
      if (row.note.value.trim()) body.cue_notes.push({ index: row.cue.index, note: row.note.value });
    }
    submit.disabled = true;
    message.replaceChildren(el("span", {}, "Sending…"));
    const response = await fetch(`${base}/submit`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (response.ok) {
      message.replaceChildren(el("span", { class: "sent" },
        `Sent: ${answer.sent.decision}. The run resumes; this page shows its state.`));
      document.body.classList.add("submitted");
      pollState();
    } else {
      submit.disabled = false;
      message.replaceChildren(el("span", { class: "error" }, answer.error),
                              el("span", { class: "hint" }, answer.hint ? ` ${answer.hint}` : ""));
    }
  });
}

function showState(state) {
  const badge = document.getElementById("state");
  badge.textContent = state;
  badge.className = /^(Paused|Suspended)$/.test(state) ? "waiting" : "other";
}

async function pollState() {
  const response = await fetch(`${base}/status`);
  if (!response.ok) return;
  const status = await response.json();
  showState(status.state);
  if (status.round !== draft.round) {
    document.getElementById("message").append(
      el("a", { href: base }, ` Round ${status.round} is ready: reload.`));
    return;
  }
  if (!/^(Completed|Failed|Crashed|Cancelled)$/.test(status.state)) setTimeout(pollState, 2000);
}

buildHead();
const body = document.getElementById("rows");
for (const cue of draft.cues) {
  const row = buildRow(cue);
  rows.push(row);
  body.append(row.tr);
}
buildForm();
showState(draft.state);
if (video) {
  video.addEventListener("timeupdate", () => highlight(cueAt(video.currentTime)));
  for (const t of video.textTracks) t.mode = t.language === draft.targets[0] ? "showing" : "hidden";
}
