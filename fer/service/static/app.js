// The browser demo: camera (or a local clip) -> JPEG frames over WS /v1/stream -> boxes, labels and the
// side panel the desktop window draws. A photo goes to POST /v1/predict instead. No build step.
"use strict";

const $ = (id) => document.getElementById(id);
const view = $("view"), ctx = view.getContext("2d");
const video = $("video");
const capture = document.createElement("canvas");
// The desktop window's track colours (fer/live/render.py PALETTE, BGR there).
const PALETTE = [[80, 200, 80], [240, 160, 40], [60, 120, 255], [200, 80, 200], [40, 200, 220], [180, 180, 60]];
const MAX_SEND_WIDTH = 640;  // frames are shrunk to this width before they are sent

let classes = [];
let ws = null;
let seq = 0;                 // frames sent on the current socket (the server numbers them the same way)
const sentAt = new Map();    // seq -> time sent, for the round trip
let waiting = false;         // a frame is on its way: send the next one only after its reply
let waitingSince = 0;
let latest = null;           // the last reply: {width, height, faces}
let still = null;            // a photo being shown instead of video
let results = 0;
const replyTimes = [];

const colour = (trackId) => { const c = PALETTE[(trackId - 1) % PALETTE.length]; return `rgb(${c[2]},${c[1]},${c[0]})`; };
const setMessage = (text) => { $("message").textContent = text; };
const setState = (state) => { document.body.dataset.state = state; };

// Whole percentages that add up to 100, like the desktop panel.
function percentages(probs) {
  const raw = probs.map((p) => Math.max(0, p) * 100 / (probs.reduce((a, b) => a + Math.max(0, b), 0) || 1));
  const out = raw.map(Math.floor);
  const order = raw.map((r, i) => [r - out[i], i]).sort((a, b) => b[0] - a[0]);
  for (let k = 0; k < 100 - out.reduce((a, b) => a + b, 0) && k < order.length; k++) out[order[k][1]] += 1;
  return out;
}

// Every string from the model, a request or a reply (class names, labels, errors) goes into the page as
// text, never as HTML: a model file is untrusted, and its class names could hold markup.
function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function buildBars() {
  const rows = classes.map((name) => {
    const row = element("div", "bar");
    row.dataset.class = name;
    const track = element("span", "track");
    track.append(element("span", "fill"));
    row.append(element("span", "name", name), track, element("span", "pct"));
    return row;
  });
  $("bars").replaceChildren(...rows);
}

function primaryFace(faces) {
  return faces.reduce((best, f) => (!best || f.box[2] * f.box[3] > best.box[2] * best.box[3] ? f : best), null);
}

let cropRequests = 0;

function updatePanel(faces) {
  const face = primaryFace(faces);
  const crop = $("crop").getContext("2d");
  const shown = ++cropRequests;  // a reply's crop decodes asynchronously: only the newest may draw
  if (!face || !face.crop) {
    crop.fillStyle = "#000";
    crop.fillRect(0, 0, 192, 192);
  }
  $("swatch").style.background = face ? colour(face.track_id) : "transparent";
  $("panel-title").textContent = face ? `face ${face.track_id}: model input 48x48` : "no face detected";
  const probs = face ? classes.map((c) => face.probabilities[c] || 0) : classes.map(() => 0);
  const pct = face ? percentages(probs) : probs.map(() => 0);
  const top = face ? probs.indexOf(Math.max(...probs)) : -1;
  $("heading").textContent = face ? `${classes[top]} ${pct[top]}%` : "\u00a0";
  document.querySelectorAll("#bars .bar").forEach((row, i) => {
    row.classList.toggle("top", i === top);
    row.querySelector(".fill").style.width = `${pct[i]}%`;
    row.querySelector(".pct").textContent = face ? `${pct[i]}%` : "";
  });
  if (face && face.crop) {
    const img = new Image();
    // Drawn over the previous crop once decoded, never cleared first: clearing made the panel flash
    // black on every reply of a fast stream.
    img.onload = () => {
      if (shown !== cropRequests) return;
      crop.imageSmoothingEnabled = false;
      crop.drawImage(img, 0, 0, 192, 192);
    };
    img.src = face.crop;
  }
  // A list of faces the page shows: for people, and for tests that read the page.
  $("faces").replaceChildren(...faces.map((f) => {
    const li = element("li");
    li.dataset.track = f.track_id;
    li.dataset.label = f.label;
    li.dataset.confidence = f.confidence.toFixed(3);
    li.dataset.box = f.box.join(",");
    const swatch = element("i");
    swatch.style.background = colour(f.track_id);
    li.append(swatch, `face ${f.track_id}: ${f.label} ${Math.round(f.confidence * 100)}%`);
    return li;
  }));
}

function drawFaces(faces, scale) {
  ctx.lineWidth = 2;
  ctx.font = "bold 15px system-ui, sans-serif";
  ctx.textBaseline = "bottom";
  for (const f of faces) {
    const [x, y, w, h] = f.box.map((v) => v * scale);
    ctx.strokeStyle = ctx.fillStyle = colour(f.track_id);
    ctx.strokeRect(x, y, w, h);
    const text = `${f.label} ${Math.round(f.confidence * 100)}%`;
    const tw = ctx.measureText(text).width + 8;
    const ty = y - 22 >= 0 ? y - 22 : y + h;
    ctx.fillRect(x - 1, ty, tw, 22);
    ctx.fillStyle = "#000";
    ctx.fillText(text, x + 3, ty + 19);
  }
}

function draw() {
  if (still) {
    ctx.drawImage(still, 0, 0, view.width, view.height);
  } else if (video.readyState >= 2 && video.videoWidth) {
    if (view.width !== video.videoWidth || view.height !== video.videoHeight) {
      view.width = video.videoWidth;
      view.height = video.videoHeight;
    }
    ctx.drawImage(video, 0, 0);
  }
  if (latest && latest.width) drawFaces(latest.faces, view.width / latest.width);
  sendFrame();
  requestAnimationFrame(draw);
}

function showStats(reply, rtt) {
  const now = performance.now();
  replyTimes.push(now);
  while (replyTimes.length && now - replyTimes[0] > 2000) replyTimes.shift();
  if (replyTimes.length > 1) $("fps").textContent = ((replyTimes.length - 1) * 1000 / (now - replyTimes[0])).toFixed(1);
  if (reply.latency_ms !== undefined) $("latency").textContent = reply.latency_ms.toFixed(0);
  if (rtt !== undefined) $("rtt").textContent = rtt.toFixed(0);
  if (reply.dropped_total !== undefined) $("dropped").textContent = reply.dropped_total;
}

function onReply(event) {
  const reply = JSON.parse(event.data);
  const sent = sentAt.get(reply.seq);
  sentAt.delete(reply.seq);
  waiting = false;
  if (reply.type === "error") { setMessage(reply.error); return; }
  latest = reply;
  results += 1;
  document.body.dataset.results = results;
  setMessage(reply.faces.length ? "" : "no face in view");
  updatePanel(reply.faces);
  showStats(reply, sent === undefined ? undefined : performance.now() - sent);
}

function openSocket() {
  closeSocket();
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/stream`);
  socket.binaryType = "arraybuffer";
  socket.onmessage = onReply;
  socket.onopen = () => setState("streaming");
  socket.onclose = (e) => {
    if (ws !== socket) return;
    ws = null;
    setState("closed");
    setMessage(e.code === 1006 ? "The server refused or lost the stream (too many open? restarted?). Reload to retry."
      : `Stream closed (${e.code}). Reload to retry.`);
  };
  ws = socket;
  seq = 0;
  sentAt.clear();
  waiting = false;
}

function closeSocket() {
  if (ws) { const s = ws; ws = null; s.close(); }
}

function sendFrame() {
  if (!ws || ws.readyState !== WebSocket.OPEN || still || video.readyState < 2 || !video.videoWidth) return;
  if (waiting && performance.now() - waitingSince < 5000) return;  // one frame in flight; 5 s means it was lost
  const scale = Math.min(1, MAX_SEND_WIDTH / video.videoWidth);
  capture.width = Math.round(video.videoWidth * scale);
  capture.height = Math.round(video.videoHeight * scale);
  capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
  waiting = true;
  waitingSince = performance.now();
  const socket = ws;
  capture.toBlob((blob) => {
    if (!blob || socket !== ws || socket.readyState !== WebSocket.OPEN) { waiting = false; return; }
    seq += 1;
    sentAt.set(seq, performance.now());
    socket.send(blob);
  }, "image/jpeg", 0.85);
}

async function startCamera() {
  still = null;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setState("no-camera");
    setMessage("This browser gives no camera here (the page needs http://localhost or https). Open a photo or clip.");
    return;
  }
  setMessage("Asking for the camera...");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    video.removeAttribute("src");
    video.srcObject = stream;
    await video.play();
  } catch (err) {
    setState("no-camera");
    setMessage(`No camera (${err.name}). Open a photo or a clip instead.`);
    return;
  }
  setMessage("");
  openSocket();
}

function stopVideo() {
  const tracks = video.srcObject ? video.srcObject.getTracks() : [];
  tracks.forEach((t) => t.stop());
  video.srcObject = null;
  video.pause();
}

async function openClip(file) {
  stopVideo();
  still = null;
  latest = null;
  video.src = URL.createObjectURL(file);
  video.loop = true;
  await video.play();
  setMessage("");
  openSocket();  // a new stream: the clip's faces get tracks of their own
}

async function openPhoto(file) {
  stopVideo();
  closeSocket();
  const img = new Image();
  img.src = URL.createObjectURL(file);
  await img.decode();
  still = img;
  view.width = img.naturalWidth;
  view.height = img.naturalHeight;
  latest = null;
  setState("photo");
  setMessage("Reading faces...");
  const body = new FormData();
  body.append("file", file);
  const t0 = performance.now();
  const response = await fetch("/v1/predict?crops=true", { method: "POST", body });
  const reply = await response.json();
  if (!response.ok) { setMessage(reply.error || `error ${response.status}`); return; }
  latest = reply;
  results += 1;
  document.body.dataset.results = results;
  setMessage(reply.faces.length ? "" : "no face found in this photo");
  updatePanel(reply.faces);
  showStats({}, performance.now() - t0);
}

$("camera").addEventListener("click", () => { stopVideo(); startCamera(); });
$("file").addEventListener("change", (e) => {
  const file = e.target.files[0];
  if (!file) return;
  (file.type.startsWith("video/") ? openClip(file) : openPhoto(file)).catch((err) => setMessage(String(err)));
});

fetch("/healthz").then((r) => r.json()).then((health) => {
  classes = health.classes;
  buildBars();
  updatePanel([]);
  requestAnimationFrame(draw);
  startCamera();
});
