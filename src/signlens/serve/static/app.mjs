// The page: camera, overlay, spelled text, settings and photos. Recognition itself comes from a
// source module (see source-server.mjs for the interface), so other sources can plug in here.
import { drawResult } from "./overlay.mjs";
import { setupPhotos } from "./photos.mjs";
import { createServerSource } from "./source-server.mjs";
import { say } from "./status.mjs";

const $ = (id) => document.getElementById(id);
const SOURCES = { server: createServerSource };
const SETTINGS = ["threshold", "hold", "pause", "window", "min_share"];

// `touched`: the user moved a setting; until then the source's own defaults (the model's) stand.
// `kept`: text spelled by earlier sources (before a mode or camera switch), which the current one extends.
const state = { stream: null, source: null, text: "", kept: "", touched: false, mirror: true, speed: null };

function mode() {
  return new URLSearchParams(location.search).get("source") || "server";
}

function settings() {
  return Object.fromEntries(SETTINGS.map((id) => [id, Number($(id).value)]));
}

function showSettings() {
  for (const id of SETTINGS) $(`${id}-value`).textContent = $(id).value;
  const seconds = (s) => `${Number(s)} second${Number(s) === 1 ? "" : "s"}`;
  $("howto-hold").textContent = seconds($("hold").value);
  $("howto-pause").textContent = seconds($("pause").value);
}

function adoptSettings(values) {
  if (state.touched || !values) return;
  for (const id of SETTINGS) if (id in values) $(id).value = values[id];
  showSettings();
}

// The live session's definition (pipeline/session.py): each setting's range and default. The server
// serves it; offline, the on-device build's copy stands in.
async function loadDefinition() {
  for (const url of ["/v1/session", "/static/ondevice/session.json"]) {
    try {
      const response = await fetch(url);
      if (response.ok) return await response.json();
    } catch {
      // offline or no on-device build: try the next
    }
  }
  return null;
}

function applyDefinition(definition) {
  if (!definition) return;
  for (const [id, limit] of Object.entries(definition.limits)) {
    const input = $(id);
    if (!input) continue;
    Object.assign(input, { min: limit.min, max: limit.max, step: limit.step, title: limit.what });
  }
  adoptSettings(definition.settings);
  $("settings-fields").disabled = false;
}

function showBadge(result) {
  const percent = `${Math.round(100 * result.confidence)}%`;
  let letter = "–",
    confidence = "",
    look = "idle";
  if (result.smoothed || result.label) {
    [letter, confidence, look] = [result.smoothed || result.label, percent, "sure"];
  } else if (result.hand && result.best) {
    [letter, confidence, look] = [`${result.best}?`, percent, "unsure"];
  }
  $("letter").textContent = letter;
  $("confidence").textContent = confidence;
  $("badge").className = `badge ${look}`;
}

// Frames a second over the last two seconds, and the time one frame took (the round trip to the
// server, or the work on this device).
function showSpeed(result) {
  const now = performance.now();
  const speed = state.speed || (state.speed = { times: [], shown: 0 });
  speed.times.push(now);
  while (speed.times.length && now - speed.times[0] > 2000) speed.times.shift();
  if (now - speed.shown < 500) return;
  speed.shown = now;
  const span = (now - speed.times[0]) / 1000;
  const fps = span > 0 ? (speed.times.length - 1) / span : 0;
  const ms = result.roundTripMs ?? result.ms;
  const where = result.roundTripMs !== undefined ? "round trip to the server" : "on this device";
  $("speed").textContent = `${fps.toFixed(1)} frames/s · ${Math.round(ms)} ms a frame (${where})`;
}

function showResult(result) {
  adoptSettings(result.settings);
  if (!result.settingsOnly) {
    drawResult($("overlay"), result, state.mirror);
    showBadge(result);
    $("current").textContent = result.smoothed || "–";
    showSpeed(result);
  }
  if (typeof result.text === "string" && state.kept + result.text !== state.text) {
    state.text = state.kept + result.text;
    $("spelled").textContent = state.text;
  }
}

async function openCamera(constraints = { facingMode: "user" }) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("This browser gives no camera here (a camera needs https or localhost).");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { ...constraints, width: { ideal: 640 }, height: { ideal: 480 } },
    audio: false,
  });
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  // Mirror a camera that faces the user (a selfie view reads as a mirror); one that does not say
  // which way it faces is taken as facing the user unless its name says it is at the back.
  const track = stream.getVideoTracks()[0];
  const facing = track.getSettings().facingMode;
  state.mirror = facing ? facing === "user" : !/back|rear|environment/i.test(track.label);
  $("stage").classList.toggle("mirror", state.mirror);
  return stream;
}

function closeCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
}

async function cameras() {
  try {
    return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  } catch {
    return [];
  }
}

// The current mode's source on the running camera; the text so far stays.
async function startSource() {
  const make = SOURCES[mode()] || createServerSource;
  const source = make({
    onResult: (result) => {
      if (source === state.source) showResult(result);
    },
    onStatus: (message) => {
      if (source === state.source) say(message);
    },
    onClosed: (why) => {
      if (source !== state.source) return;
      stop();
      say(why, { error: true });
    },
  });
  state.source = source;
  state.speed = null;
  if (state.touched) source.configure(settings());
  await source.start($("video"));
}

// Called when the mode changes: a running camera keeps running and the text stays.
export async function restartSource() {
  if (!state.source) return;
  state.source.stop();
  state.kept = state.text;
  await startSource();
}

async function start() {
  const button = $("start");
  button.disabled = true;
  say("Waiting for the camera: allow it if the browser asks.");
  try {
    state.stream = await openCamera();
  } catch (error) {
    say(`Camera unavailable: ${error.message}`, { error: true });
    button.disabled = false;
    return;
  }
  state.kept = state.text;
  await startSource();
  button.textContent = "Stop camera";
  button.disabled = false;
  const found = await cameras();
  $("switch").disabled = found.length < 2;
  $("switch").title = found.length < 2 ? "This device has one camera" : "";
}

function stop() {
  if (state.source) state.source.stop();
  state.source = null;
  closeCamera();
  $("start").textContent = "Start camera";
  $("switch").disabled = true;
  $("speed").textContent = "";
  say("Camera off.");
}

async function switchCamera() {
  const found = await cameras();
  const now = state.stream ? state.stream.getVideoTracks()[0].getSettings().deviceId : null;
  if (found.length < 2) {
    say("This device has one camera.");
    $("switch").disabled = true;
    return;
  }
  const next = found[(found.findIndex((c) => c.deviceId === now) + 1) % found.length];
  closeCamera();
  try {
    state.stream = await openCamera({ deviceId: { exact: next.deviceId } });
  } catch (error) {
    say(`Cannot switch camera: ${error.message}`, { error: true });
    state.stream = await openCamera().catch(() => null);
    return;
  }
  state.kept = state.text;
  if (state.source) state.source.reset(); // a new camera is a new scene for the tracker and the speller
  say(`Using ${next.label || "the other camera"}.`);
}

async function copyText() {
  const text = state.text.trim();
  if (!text) {
    say("Nothing to copy yet.");
    return;
  }
  try {
    await navigator.clipboard.writeText(text);
    say("Text copied.");
  } catch {
    say("Copy is not allowed here; select the text instead.", { error: true });
  }
}

function speak() {
  if (!("speechSynthesis" in window)) {
    say("This browser cannot speak.", { error: true });
    return;
  }
  const text = state.text.trim();
  if (!text) {
    say("Nothing to speak yet.");
    return;
  }
  speechSynthesis.cancel();
  speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}

function clearText() {
  state.text = "";
  state.kept = "";
  $("spelled").textContent = "";
  if (state.source) state.source.reset();
}

function forgetToken() {
  // The server has set its cookie from ?token=: keep the secret out of the address bar and history.
  const params = new URLSearchParams(location.search);
  if (!params.has("token")) return;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${rest ? "?" + rest : ""}`);
}

function init() {
  forgetToken();
  $("start").addEventListener("click", () => (state.source ? stop() : start()));
  $("switch").addEventListener("click", switchCamera);
  $("clear").addEventListener("click", clearText);
  $("copy").addEventListener("click", copyText);
  $("speak").addEventListener("click", speak);
  $("settings").addEventListener("input", () => {
    state.touched = true;
    showSettings();
    if (state.source) state.source.configure(settings());
  });
  loadDefinition().then(applyDefinition);
  setupPhotos();
  if (new URLSearchParams(location.search).has("autostart")) start();
}

init();
export { SOURCES };
