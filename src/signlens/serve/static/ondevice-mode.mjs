// Wires the "on this device" mode into the page through app.mjs's SOURCES hook: a mode choice beside
// the camera buttons (on this device by default wherever WebAssembly runs and the server has the
// on-device files; the server otherwise), the models loaded as soon as the mode is chosen (not at the
// first sign), and the service worker that keeps the page working offline. The chosen mode is the
// page's ?source= parameter, which app.mjs reads when the camera starts.
import { SOURCES, restartSource } from "./app.mjs";
import { chooseLandmarkPath } from "./hand-landmarks.mjs";
import { registerOffline } from "./offline.mjs";
import { deviceAvailable, loadModels } from "./device-recognizer.mjs";
import { createDeviceSource } from "./source-device.mjs";
import { reporter, say } from "./status.mjs";

SOURCES.device = createDeviceSource;
const $ = (id) => document.getElementById(id);
const running = () => $("start").textContent.startsWith("Stop");

function modeChoice(available) {
  const wrap = document.createElement("div");
  wrap.className = "controls";
  wrap.innerHTML = `<label for="mode">Recognise</label>
    <select id="mode">
      <option value="device">on this device</option>
      <option value="server">on the server</option>
    </select>`;
  $("start").parentElement.after(wrap); // after the camera buttons: Start stays the first control
  const select = $("mode");
  if (!available) {
    select.querySelector('option[value="device"]').disabled = true;
    select.title = "This browser or server cannot run the on-device mode";
  }
  return select;
}

async function choose(mode) {
  const params = new URLSearchParams(location.search);
  params.set("source", mode);
  history.replaceState(null, "", `${location.pathname}?${params}`);
  if (mode !== "device") {
    if (!running()) say("Frames will go to the server for recognition once the camera starts.");
    return;
  }
  // The models load in the background: their messages give way to anything said meanwhile (a camera
  // error, another mode chosen).
  const report = reporter();
  try {
    await loadModels(report);
    report("Ready to recognise on this device.");
  } catch (error) {
    say(`Cannot run on this device (${error.message}); recognising on the server.`, { error: true });
    $("mode").value = "server";
    await choose("server");
  }
}

async function init() {
  const available = await deviceAvailable();
  const select = modeChoice(available);
  const asked = new URLSearchParams(location.search).get("source");
  select.value = asked === "server" || !available ? "server" : "device";
  select.addEventListener("change", async () => {
    await choose(select.value);
    await restartSource(); // a running camera goes on in the new mode, with the text so far
  });
  await choose(select.value);
  let extra = []; // this browser's landmark path, cached even while the page recognises on the server
  if (available) {
    try {
      extra = (await (await fetch("/static/ondevice/files.json")).json())[chooseLandmarkPath()].map(
        (f) => `/static/ondevice/${f}`,
      );
    } catch {
      extra = [];
    }
  }
  registerOffline(extra).catch(() => {}); // no service worker (old browser, plain http off localhost): online only
}

init();
