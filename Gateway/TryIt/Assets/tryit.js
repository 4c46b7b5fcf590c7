// The Try it page: draw or upload a digit, send it to the public predict route with the development
// key and a traceparent of our own, so the answer can link to its trace before the spans arrive.

const root = document.getElementById("try-it");
const model = root.dataset.model;
const keyName = root.dataset.keyName;
const apiKey = root.dataset.apiKey;
const dashboardUrl = (root.dataset.dashboardUrl ?? "").replace(/\/+$/, "");
// The predict response's field names, as the gateway's one definition of it gives them.
const field = {
  predictions: root.dataset.fieldPredictions,
  label: root.dataset.fieldLabel,
  score: root.dataset.fieldScore,
  topK: root.dataset.fieldTopK,
};

const canvas = document.getElementById("digit-canvas");
const preview = document.getElementById("upload-preview");
const hint = document.getElementById("hint");
const upload = document.getElementById("upload");
const predictButton = document.getElementById("predict");
const clearButton = document.getElementById("clear");
const result = document.getElementById("result");
const status = document.getElementById("status");
const error = document.getElementById("error");
const best = document.getElementById("best");
const resultLabel = document.getElementById("result-label");
const resultScore = document.getElementById("result-score");
const topK = document.getElementById("top-k");
const trace = document.getElementById("trace");
const traceId = document.getElementById("trace-id");
const traceLink = document.getElementById("trace-link");

const drawHint = hint.textContent;
let file = null;
let previewUrl = null;

// Drawing: thick black strokes on white, like the digits the model learned from once the preprocessing
// service has inverted, cropped and centred them.

const strokeWidthShare = 0.085; // of the canvas side: about 24 px on 280 px, a pen-like MNIST stroke
const pen = { drawn: false, drawing: false, last: null };
const context = canvas.getContext("2d");

function fillWhite() {
  context.save();
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.restore();
}

// The canvas may be shown smaller or larger than its pixel size: map the pointer to pixels.
function point(e) {
  const box = canvas.getBoundingClientRect();
  return { x: (e.clientX - box.left) * (canvas.width / box.width), y: (e.clientY - box.top) * (canvas.height / box.height) };
}

function dot(p) {
  context.beginPath();
  context.arc(p.x, p.y, (canvas.width * strokeWidthShare) / 2, 0, Math.PI * 2);
  context.fill();
}

canvas.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  pen.drawing = true;
  pen.last = point(e);
  context.fillStyle = "#000";
  dot(pen.last);
  pen.drawn = true;
});

canvas.addEventListener("pointermove", (e) => {
  if (!pen.drawing) {
    return;
  }

  const p = point(e);
  context.strokeStyle = "#000";
  context.lineWidth = canvas.width * strokeWidthShare;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  context.moveTo(pen.last.x, pen.last.y);
  context.lineTo(p.x, p.y);
  context.stroke();
  pen.last = p;
});

const endStroke = () => {
  pen.drawing = false;
  pen.last = null;
};
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

// Uploads: shown in place of the canvas, which stays in the page so a Clear brings the drawing back.

upload.addEventListener("change", () => {
  const chosen = upload.files?.[0];
  if (!chosen) {
    return;
  }

  showUpload(chosen);
});

function showUpload(chosen) {
  forgetUpload();
  file = chosen;
  previewUrl = URL.createObjectURL(chosen);
  preview.src = previewUrl;
  preview.alt = chosen.name;
  preview.hidden = false;
  canvas.hidden = true;
  hint.textContent = `${chosen.name}, ${chosen.size.toLocaleString("en")} bytes`;
}

function forgetUpload() {
  if (previewUrl) {
    URL.revokeObjectURL(previewUrl);
  }

  file = null;
  previewUrl = null;
  preview.removeAttribute("src");
  preview.hidden = true;
  canvas.hidden = false;
  hint.textContent = drawHint;
}

clearButton.addEventListener("click", () => {
  fillWhite();
  pen.drawn = false;
  upload.value = "";
  forgetUpload();
  resetResult();
  status.textContent = "No prediction yet.";
  result.dataset.state = "idle";
});

// Predictions.

predictButton.addEventListener("click", predict);

async function predict() {
  let body;
  let contentType;
  if (file) {
    // The preprocessing service sniffs the format itself; the type only has to say "an image".
    body = file;
    contentType = file.type.startsWith("image/") ? file.type : "image/png";
  } else if (pen.drawn) {
    body = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    contentType = "image/png";
  } else {
    resetResult();
    showError("Draw a digit first, or upload an image.");
    result.dataset.state = "error";
    return;
  }

  const traceparent = newTraceparent();
  resetResult();
  result.dataset.state = "pending";
  status.textContent = "Predicting…";
  predictButton.disabled = true;
  clearButton.disabled = true;
  showTrace(traceparent.traceId);

  const started = performance.now();
  try {
    const response = await fetch(`/v1/models/${encodeURIComponent(model)}:predict`, {
      method: "POST",
      headers: { "Content-Type": contentType, [keyName]: apiKey, traceparent: traceparent.header },
      body,
    });
    const text = await response.text();
    const elapsed = Math.round(performance.now() - started);
    const requestId = response.headers.get("X-Request-Id");
    status.textContent = `${response.status} ${response.statusText}`.trim() + `, ${elapsed} ms` + (requestId ? `, request id ${requestId}` : "");
    if (response.ok) {
      showPrediction(text);
    } else {
      showError(errorMessage(text) ?? `The gateway answered ${response.status} without details.`);
    }
  } catch (e) {
    status.textContent = "No answer";
    showError(`The gateway did not answer: ${e.message}`);
  } finally {
    predictButton.disabled = false;
    clearButton.disabled = false;
    result.dataset.state = error.hidden ? "done" : "error";
  }
}

function showPrediction(text) {
  let prediction;
  try {
    prediction = JSON.parse(text)?.[field.predictions]?.[0];
  } catch {
    showError("The answer is not JSON.");
    return;
  }

  if (!prediction || prediction[field.label] === undefined) {
    showError("The answer has no prediction.");
    return;
  }

  const score = prediction[field.score];
  resultLabel.textContent = String(prediction[field.label]);
  resultScore.textContent = typeof score === "number" ? `${percent(score)} sure` : "";
  resultScore.dataset.score = String(score ?? "");
  best.hidden = false;

  const ranked = prediction[field.topK];
  const scored = Array.isArray(ranked) && ranked.length > 0 ? ranked : [prediction];
  for (const entry of scored) {
    const item = document.createElement("li");
    const entryScore = Number(entry[field.score]) || 0;
    item.dataset.label = String(entry[field.label]);
    item.dataset.score = String(entry[field.score]);
    const label = document.createElement("span");
    label.textContent = String(entry[field.label]);
    const meter = document.createElement("meter");
    meter.min = 0;
    meter.max = 1;
    meter.value = Math.min(Math.max(entryScore, 0), 1);
    const scoreText = document.createElement("span");
    scoreText.className = "score";
    scoreText.textContent = percent(entryScore);
    item.append(label, meter, scoreText);
    topK.append(item);
  }
}

// Errors come as {"message"} from key-auth and rate limiting, as problem details from the gateway
// itself, or as {"error"} from the inference protocol.
function errorMessage(text) {
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") {
      const parts = [body.title, body.detail, body.message, body.error].filter((part) => typeof part === "string" && part.trim() !== "");
      if (parts.length > 0) {
        return parts.join(": ");
      }
    }
  } catch {
    // Not JSON: the text itself, below.
  }

  const trimmed = text.trim();
  return trimmed === "" ? null : trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed;
}

function showError(message) {
  error.textContent = message;
  error.hidden = false;
}

function showTrace(id) {
  traceId.textContent = id;
  trace.hidden = false;
  if (dashboardUrl) {
    traceLink.href = `${dashboardUrl}/traces/detail/${id}`;
    traceLink.hidden = false;
  }
}

function resetResult() {
  error.hidden = true;
  error.textContent = "";
  best.hidden = true;
  resultLabel.textContent = "";
  resultScore.textContent = "";
  delete resultScore.dataset.score;
  topK.replaceChildren();
  trace.hidden = true;
  traceId.textContent = "";
  traceLink.hidden = true;
  traceLink.removeAttribute("href");
}

function percent(score) {
  const digits = score >= 0.995 || score < 0.001 ? 3 : 1;
  return `${(score * 100).toFixed(digits)} %`;
}

// A W3C traceparent, version 00, sampled (flags 01) so every service records its spans. All-zero ids are
// invalid, so a zero draw (one in 2^64 or more) is drawn again.
function newTraceparent() {
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const random = (length) => {
    for (;;) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      if (bytes.some((b) => b !== 0)) {
        return hex(bytes);
      }
    }
  };
  const id = random(16);
  return { traceId: id, header: `00-${id}-${random(8)}-01` };
}

fillWhite();
// Strokes made before this point were lost; a browser test waits for it before drawing.
canvas.dataset.ready = "true";
