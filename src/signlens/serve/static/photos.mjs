// Photos: pick or drop images; each goes to POST /v1/recognize and comes back annotated with its top 3.
import { drawAnnotations } from "./overlay.mjs";

const THUMB = 320;

async function recognise(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const response = await fetch("/v1/recognize?top_k=3&landmarks=true", { method: "POST", body: form });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function thumbnail(file, result) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const k = Math.min(1, THUMB / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * k);
  canvas.height = Math.round(bitmap.height * k);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  if (result.hand) {
    const scaled = {
      ...result,
      width: canvas.width,
      height: canvas.height,
      hand: result.hand.map((v) => v * k),
      landmarks: result.landmarks && result.landmarks.map(([x, y]) => [x * k, y * k]),
    };
    drawAnnotations(ctx, scaled);
  }
  return canvas;
}

function describe(result) {
  if (!result.top.length) return "no hand found";
  return result.label ? `${result.label}` : `unsure (maybe ${result.top[0][0]})`;
}

async function addPhoto(list, file) {
  const item = document.createElement("li");
  item.innerHTML = `<div class="thumb"></div><div><div class="name"></div><div class="label">…</div><ol class="top"></ol></div>`;
  item.querySelector(".name").textContent = file.name;
  list.prepend(item);
  const label = item.querySelector(".label");
  try {
    const result = await recognise(file);
    label.textContent = describe(result);
    label.classList.toggle("unsure", !result.label);
    for (const [name, p] of result.top) {
      const li = document.createElement("li");
      li.textContent = `${name} ${(100 * p).toFixed(1)}%`;
      item.querySelector(".top").append(li);
    }
    try {
      const canvas = await thumbnail(file, result);
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${file.name}: ${describe(result)}`);
      item.querySelector(".thumb").append(canvas);
    } catch (e) {
      /* the browser cannot show this format; the label stands alone */
    }
  } catch (error) {
    label.textContent = error.message;
    label.className = "label error";
  }
}

export function setupPhotos() {
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  const list = document.getElementById("photo-results");
  const handle = (files) => {
    for (const file of files) addPhoto(list, file);
  };
  input.addEventListener("change", () => {
    handle(input.files);
    input.value = "";
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    handle(e.dataTransfer.files);
  });
}
