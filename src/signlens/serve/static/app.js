// The page: camera, overlay, spelled text, settings and photos. Recognition itself comes from a
// source module (see source-server.js for the interface), so other sources can plug in here.
import { drawResult } from "./overlay.js";
import { setupPhotos } from "./photos.js";
import { createServerSource } from "./source-server.js";

const $ = (id) => document.getElementById(id);
const SOURCES = { server: createServerSource };

// `touched`: the user moved a setting; until then the source's own defaults (the model's) stand.
const state = { stream: null, facing: "user", source: null, text: "", touched: false };

function status(message) { $("status").textContent = message; }

function settings() {
  const value = (id) => Number($(id).value);
  return { threshold: value("threshold"), hold: value("hold"), pause: value("pause"), window: value("window") };
}

function showSettings() {
  for (const id of ["threshold", "hold", "pause", "window"]) $(`${id}-value`).textContent = $(id).value;
}

function adoptSettings(values) {
  if (state.touched || !values) return;
  for (const id of ["threshold", "hold", "pause", "window"]) if (id in values) $(id).value = values[id];
  showSettings();
}

function showResult(result) {
  adoptSettings(result.settings);
  if (!result.settingsOnly) {
    const mirror = state.facing === "user";
    drawResult($("overlay"), result, mirror);
    const best = result.smoothed || result.best || "–";
    $("letter").textContent = best;
    $("confidence").textContent = result.hand ? `${Math.round(100 * result.confidence)}%` : "";
    $("current").textContent = result.smoothed || "none";
  }
  if (typeof result.text === "string" && result.text !== state.text) {
    state.text = result.text;
    $("spelled").textContent = state.text;
  }
}

async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("This browser gives no camera here (a camera needs https or localhost).");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: state.facing, width: { ideal: 640 }, height: { ideal: 480 } }, audio: false,
  });
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  $("stage").classList.toggle("mirror", state.facing === "user");
  return stream;
}

function closeCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
}

async function start() {
  try {
    state.stream = await openCamera();
  } catch (error) {
    status(`Camera unavailable: ${error.message}`);
    return;
  }
  const make = SOURCES[new URLSearchParams(location.search).get("source") || "server"] || createServerSource;
  state.source = make({ onResult: showResult, onStatus: status, onClosed: (why) => { stop(); status(why); } });
  if (state.touched) state.source.configure(settings());
  await state.source.start($("video"));
  $("start").textContent = "Stop camera";
  $("switch").disabled = false;
}

function stop() {
  if (state.source) state.source.stop();
  state.source = null;
  closeCamera();
  $("start").textContent = "Start camera";
  $("switch").disabled = true;
  status("Camera off.");
}

async function switchCamera() {
  state.facing = state.facing === "user" ? "environment" : "user";
  closeCamera();
  try {
    state.stream = await openCamera();
    state.source.reset(); // a new camera is a new scene for the tracker and the speller
    status(`Using the ${state.facing === "user" ? "front" : "back"} camera.`);
  } catch (error) {
    status(`Cannot switch camera: ${error.message}`);
  }
}

async function copyText() {
  try {
    await navigator.clipboard.writeText(state.text.trim());
    status("Text copied.");
  } catch (error) {
    status("Copy is not allowed here; select the text instead.");
  }
}

function speak() {
  if (!("speechSynthesis" in window)) { status("This browser cannot speak."); return; }
  const text = state.text.trim();
  if (!text) { status("Nothing to speak yet."); return; }
  speechSynthesis.cancel();
  speechSynthesis.speak(new SpeechSynthesisUtterance(text));
}

function clearText() {
  state.text = "";
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
  showSettings();
  setupPhotos();
  if (new URLSearchParams(location.search).has("autostart")) start();
}

init();
export { SOURCES };
