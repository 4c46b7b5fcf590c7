// Drawing on the Try it page's canvas: thick black strokes on white, like the digits the model
// learned from once the preprocessing service has inverted, cropped and centred them.

const strokeWidthShare = 0.085; // of the canvas side: about 24 px on 280 px, a pen-like MNIST stroke
const state = new WeakMap();

export function init(canvas) {
  if (state.has(canvas)) {
    return;
  }

  const context = canvas.getContext("2d");
  const s = { drawn: false, drawing: false, last: null };
  state.set(canvas, s);
  fillWhite(canvas, context);

  // The canvas may be shown smaller or larger than its pixel size: map the pointer to pixels.
  const point = (e) => {
    const box = canvas.getBoundingClientRect();
    return { x: (e.clientX - box.left) * (canvas.width / box.width), y: (e.clientY - box.top) * (canvas.height / box.height) };
  };

  const dot = (p) => {
    context.beginPath();
    context.arc(p.x, p.y, (canvas.width * strokeWidthShare) / 2, 0, Math.PI * 2);
    context.fill();
  };

  canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    s.drawing = true;
    s.last = point(e);
    context.fillStyle = "#000";
    dot(s.last);
    s.drawn = true;
  });

  canvas.addEventListener("pointermove", (e) => {
    if (!s.drawing) {
      return;
    }

    const p = point(e);
    context.strokeStyle = "#000";
    context.lineWidth = canvas.width * strokeWidthShare;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(s.last.x, s.last.y);
    context.lineTo(p.x, p.y);
    context.stroke();
    s.last = p;
  });

  const end = () => {
    s.drawing = false;
    s.last = null;
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  // Strokes made before this point were lost; a browser test waits for it before drawing.
  canvas.dataset.ready = "true";
}

export function clear(canvas) {
  fillWhite(canvas, canvas.getContext("2d"));
  const s = state.get(canvas);
  if (s) {
    s.drawn = false;
  }
}

export function hasInk(canvas) {
  return state.get(canvas)?.drawn ?? false;
}

// Blazor turns a Uint8Array into a byte[] on the server side.
export async function toPng(canvas) {
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  return new Uint8Array(await blob.arrayBuffer());
}

function fillWhite(canvas, context) {
  context.save();
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.restore();
}
