// Recognition source "server": camera frames go to the WebSocket /v1/stream, which keeps the tracker
// and the speller. Any source offers the same interface, so the page does not care which one runs:
//   const source = createSource({onResult, onStatus, onClosed});
//   await source.start(video); source.stop(); source.reset(); source.configure({threshold, hold, pause, window});
// onResult gets {width, height, hand, landmarks, label, best, confidence, smoothed, written, text}.
const MAX_SIDE = 640; // frames are shrunk to this before sending: the palm detector sees 192 px anyway

export function createServerSource({ onResult, onStatus, onClosed = () => {} }) {
  let ws = null, video = null, running = false, waiting = false, settings = null;
  const canvas = document.createElement("canvas");
  let minGap = 1000 / 30, lastSent = 0;

  function url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/v1/stream`;
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function nextFrame() {
    if (!running) return;
    const wait = Math.max(0, minGap - (performance.now() - lastSent));
    setTimeout(() => requestAnimationFrame(sendFrame), wait);
  }

  function sendFrame() {
    if (!running || waiting || ws.readyState !== WebSocket.OPEN) return;
    if (!video.videoWidth) { nextFrame(); return; }
    const k = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * k);
    canvas.height = Math.round(video.videoHeight * k);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    waiting = true; // one frame in flight: the server's pace sets the frame rate, no queue builds up
    lastSent = performance.now();
    canvas.toBlob((blob) => {
      if (blob && ws.readyState === WebSocket.OPEN) ws.send(blob); else waiting = false;
    }, "image/jpeg", 0.8);
  }

  function onMessage(event) {
    const message = JSON.parse(event.data);
    if (message.type === "ready") {
      minGap = 1000 / message.max_fps;
      if (settings) send({ type: "settings", ...settings });
      else onResult({ type: "settings", settings: message.settings, text: "", settingsOnly: true });
      onStatus("Recognising on the server.");
      nextFrame();
    } else if (message.type === "result" || message.type === "skipped" || message.type === "error") {
      if (message.type === "result") onResult(message);
      if (message.type === "error") onStatus(message.message);
      waiting = false;
      nextFrame();
    } else if (message.type === "reset" || message.type === "settings") {
      onResult({ ...message, settingsOnly: true });
    }
  }

  return {
    name: "server",
    async start(videoElement) {
      video = videoElement;
      running = true;
      waiting = false;
      ws = new WebSocket(url());
      ws.binaryType = "arraybuffer";
      ws.onmessage = onMessage;
      ws.onclose = (event) => {
        if (!running) return;
        running = false;
        onClosed(`Connection closed${event.reason ? ": " + event.reason : ""}.`);
      };
      ws.onerror = () => onStatus("Cannot reach the server.");
      onStatus("Connecting…");
    },
    stop() {
      running = false;
      if (ws) ws.close();
      ws = null;
    },
    reset() { send({ type: "reset" }); },
    configure(values) {
      settings = values;
      send({ type: "settings", ...values });
    },
  };
}
