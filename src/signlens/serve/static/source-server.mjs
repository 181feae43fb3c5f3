// Recognition source "server": camera frames go to the WebSocket /v1/stream, which keeps the tracker
// and the speller. Any source offers the same interface, so the page does not care which one runs:
//   const source = createSource({onResult, onStatus, onClosed});
//   await source.start(video); source.stop(); source.reset(); source.configure({threshold, hold, pause, window});
// onResult gets {width, height, hand, landmarks, label, best, confidence, smoothed, written, text}.
const MAX_SIDE = 640; // frames are shrunk to this before sending: the palm detector sees 192 px anyway

export function createServerSource({ onResult, onStatus, onClosed = () => {} }) {
  let ws = null,
    video = null,
    running = false,
    waiting = false,
    settings = null;
  const canvas = document.createElement("canvas");
  // The server skips a frame that arrives within 1/max_fps of the last one it took, so frames are
  // spaced by that from the moment they leave, with a margin for the way there that grows if a
  // frame is skipped all the same.
  let minGap = 1000 / 30,
    margin = 2,
    lastSent = -Infinity,
    sentAt = 0;
  // Each camera frame is sent once: a camera slower than the server's bound is not padded with copies.
  const watch = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  let shown = 0,
    sentFrame = -1,
    waitingForFrame = false;

  function watchFrames() {
    if (!running || !watch) return;
    video.requestVideoFrameCallback(() => {
      shown += 1;
      if (waitingForFrame) {
        waitingForFrame = false;
        sendFrame();
      }
      watchFrames();
    });
  }

  function url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/v1/stream`;
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function nextFrame() {
    if (!running) return;
    const wait = Math.max(0, minGap + margin - (performance.now() - lastSent));
    setTimeout(sendFrame, wait);
  }

  function sendFrame() {
    if (!running || waiting || ws.readyState !== WebSocket.OPEN) return;
    if (!video.videoWidth || (watch && shown === sentFrame)) {
      if (watch) waitingForFrame = true;
      else setTimeout(sendFrame, 10);
      return;
    }
    const k = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * k);
    canvas.height = Math.round(video.videoHeight * k);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const frameNumber = shown;
    waiting = true; // one frame in flight: the server's pace sets the frame rate, no queue builds up
    canvas.toBlob(
      (blob) => {
        if (!blob || !running || ws.readyState !== WebSocket.OPEN) {
          waiting = false;
          nextFrame();
          return;
        }
        // Encoding takes a varying time: the gap is measured from here, where the frame leaves.
        const gap = performance.now() - lastSent;
        if (gap < minGap + margin) {
          waiting = false;
          setTimeout(sendFrame, minGap + margin - gap);
          return;
        }
        lastSent = sentAt = performance.now();
        sentFrame = frameNumber;
        ws.send(blob);
      },
      "image/jpeg",
      0.8,
    );
  }

  function onMessage(event) {
    const message = JSON.parse(event.data);
    if (message.type === "ready") {
      minGap = 1000 / message.max_fps;
      if (settings) send({ type: "settings", ...settings });
      else onResult({ type: "settings", settings: message.settings, text: "", settingsOnly: true });
      onStatus("Recognising on the server.");
      watchFrames();
      nextFrame();
    } else if (message.type === "result" || message.type === "skipped" || message.type === "error") {
      if (message.type === "result") onResult({ ...message, roundTripMs: performance.now() - sentAt });
      if (message.type === "skipped") margin = Math.min(margin + 5, 50);
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
    reset() {
      send({ type: "reset" });
    },
    configure(values) {
      settings = values;
      send({ type: "settings", ...values });
    },
  };
}
