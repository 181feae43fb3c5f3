// Drawing shared by every recognition source: the hand box, the skeleton and the label.
const BONES = [
  [0, 1],
  [1, 2],
  [2, 3],
  [3, 4],
  [0, 5],
  [5, 6],
  [6, 7],
  [7, 8],
  [5, 9],
  [9, 10],
  [10, 11],
  [11, 12],
  [9, 13],
  [13, 14],
  [14, 15],
  [15, 16],
  [13, 17],
  [0, 17],
  [17, 18],
  [18, 19],
  [19, 20],
];

// A result: {width, height, hand: [x0, y0, x1, y1] | null, landmarks: [[x, y], ...] | null,
//            best | top[0][0], confidence, label (null when unsure)}. `mirror` flips x (selfie view).
export function drawResult(canvas, result, mirror = false) {
  const ctx = canvas.getContext("2d");
  canvas.width = result.width;
  canvas.height = result.height;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  drawAnnotations(ctx, result, mirror);
}

export function drawAnnotations(ctx, result, mirror = false) {
  if (!result.hand) return;
  const fx = (x) => (mirror ? result.width - x : x);
  const scale = Math.max(2, Math.round(Math.max(result.width, result.height) / 250));
  const colour = result.label ? "#1db954" : "#ff9800";
  ctx.lineWidth = scale;
  ctx.strokeStyle = colour;
  const [x0, y0, x1, y1] = result.hand;
  const left = Math.min(fx(x0), fx(x1));
  ctx.strokeRect(left, y0, Math.abs(fx(x1) - fx(x0)), y1 - y0);
  if (result.landmarks) {
    ctx.strokeStyle = "rgba(255,255,255,0.9)";
    ctx.lineWidth = Math.max(1, scale / 2);
    for (const [a, b] of BONES) {
      const p = result.landmarks[a],
        q = result.landmarks[b];
      ctx.beginPath();
      ctx.moveTo(fx(p[0]), p[1]);
      ctx.lineTo(fx(q[0]), q[1]);
      ctx.stroke();
    }
    ctx.fillStyle = colour;
    for (const p of result.landmarks) {
      ctx.beginPath();
      ctx.arc(fx(p[0]), p[1], scale, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  const best = result.best ?? (result.top && result.top.length ? result.top[0][0] : "?");
  const caption = `${best} ${Math.round(100 * result.confidence)}%${result.label ? "" : " ?"}`;
  ctx.font = `bold ${8 * scale + 6}px system-ui, sans-serif`;
  ctx.fillStyle = colour;
  ctx.fillText(caption, left, Math.max(8 * scale + 6, y0 - 2 * scale));
}
