// A 2-D point cloud on a plain canvas: pan (drag, arrow keys), zoom (wheel, +/-), hover and click the
// nearest point, box (shift-drag or Box mode) and lasso selection, selected points drawn on top,
// and a density mode (points counted per pixel) for where they overlap heavily. Points are written straight into an ImageData
// buffer, one colour group after another: with software rendering (no GPU) this paints 100k points
// in a few milliseconds, where a WebGL library spends seconds in its emulated shaders.

const HIT_RADIUS = 6; // CSS pixels around the cursor that count as "on" a point
const CLICK_SLOP = 3; // a press that moves less than this is a click, not a drag
const HIGHLIGHT = "#111111";
const PAN_STEP = 0.1; // share of the view an arrow key moves it
// Density colours, light to dark (few to many points per pixel, on a log scale).
const RAMP = ["#deebf7", "#9ecae1", "#4292c6", "#2171b5", "#08519c", "#08306b"];

// "#rrggbb" as the little-endian RGBA word an ImageData's Uint32Array view expects.
function rgbaWord(hex) {
  const v = parseInt(hex.slice(1), 16);
  return (0xff << 24 | (v & 0xff) << 16 | (v & 0xff00) | (v >> 16 & 0xff)) >>> 0;
}

function range(values) {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) { // NaN fails both comparisons, so clips without coordinates are skipped
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (low > high) return [0, 1];
  const pad = (high - low) * 0.04 || 1;
  return [low - pad, high + pad];
}

function insidePolygon(px, py, polygon) {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Uniform grid over the data's extent: each cell lists its points, so hover and selection only look
// at the cells under the cursor or the selection's bounding box.
class GridIndex {
  constructor(x, y, xRange, yRange) {
    const n = x.length;
    this.side = Math.max(1, Math.min(256, Math.ceil(Math.sqrt(n / 4))));
    this.xRange = xRange;
    this.yRange = yRange;
    const cell = new Int32Array(n).fill(-1);
    const counts = new Int32Array(this.side * this.side + 1);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(x[i]) || Number.isNaN(y[i])) continue;
      cell[i] = this.row(y[i]) * this.side + this.column(x[i]);
      counts[cell[i] + 1]++;
    }
    for (let c = 1; c < counts.length; c++) counts[c] += counts[c - 1];
    this.start = counts.slice();
    this.items = new Int32Array(counts[counts.length - 1]);
    for (let i = 0; i < n; i++) if (cell[i] >= 0) this.items[counts[cell[i]]++] = i;
  }

  column(x) { return this.clamp(((x - this.xRange[0]) / (this.xRange[1] - this.xRange[0])) * this.side); }
  row(y) { return this.clamp(((y - this.yRange[0]) / (this.yRange[1] - this.yRange[0])) * this.side); }
  clamp(v) { return Math.min(this.side - 1, Math.max(0, Math.floor(v))); }

  // Calls visit(i) for every point in the cells overlapping the world-space box.
  each(x0, y0, x1, y1, visit) {
    const [c0, c1, r0, r1] = [this.column(x0), this.column(x1), this.row(y0), this.row(y1)];
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.side + c;
        for (let k = this.start[cell]; k < this.start[cell + 1]; k++) visit(this.items[k]);
      }
    }
  }
}

export class PointCloud {
  // handlers: onHover(i | -1, clientX, clientY), onClick(i), onSelect(ids in row order).
  constructor(container, x, y, handlers) {
    Object.assign(this, { container, x, y, handlers, mode: "pan", selection: null, hovered: -1, highlight: [], density: false });
    this.full = { x: range(x), y: range(y) };
    this.view = { x: [...this.full.x], y: [...this.full.y] };
    this.index = new GridIndex(x, y, this.full.x, this.full.y);
    this.canvas = document.createElement("canvas");
    this.overlay = document.createElement("canvas");
    this.overlay.className = "overlay";
    container.append(this.canvas, this.overlay);
    this.listen();
    this.resizing = new ResizeObserver(() => this.draw());
    this.resizing.observe(container);
  }

  // Called when the map view is rebuilt, so the old, detached cloud stops redrawing.
  disconnect() { this.resizing.disconnect(); }

  // groups: [{ ids, colour: "#rrggbb", size: CSS px }], drawn first to last (later ones on top).
  setGroups(groups) {
    this.groups = groups;
    this.draw();
  }

  // Ids drawn last, in a dark colour: the current selection.
  setHighlight(ids) {
    this.highlight = ids;
    this.draw();
  }

  setDensity(on) {
    this.density = on;
    this.draw();
  }

  // Screen position (CSS pixels inside the canvas) of a world position, and of point i.
  project(wx, wy) {
    const { x, y } = this.view;
    return [((wx - x[0]) / (x[1] - x[0])) * this.width, ((y[1] - wy) / (y[1] - y[0])) * this.height];
  }

  toScreen(i) { return this.project(this.x[i], this.y[i]); }

  toWorld(sx, sy) {
    const { x, y } = this.view;
    return [x[0] + (sx / this.width) * (x[1] - x[0]), y[1] - (sy / this.height) * (y[1] - y[0])];
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    this.width = this.container.clientWidth;
    this.height = this.container.clientHeight;
    const [w, h] = [Math.round(this.width * dpr), Math.round(this.height * dpr)];
    for (const canvas of [this.canvas, this.overlay]) {
      if (canvas.width !== w || canvas.height !== h) [canvas.width, canvas.height] = [w, h];
    }
    if (!this.groups || !w || !h) return;
    const context = this.canvas.getContext("2d");
    const image = context.createImageData(w, h);
    const pixels = new Uint32Array(image.data.buffer);
    pixels.fill(0xffffffff);
    const { x, y } = this.view;
    const sx = w / (x[1] - x[0]);
    const sy = h / (y[1] - y[0]);
    const square = (i, side, word) => {
      const left = Math.round((this.x[i] - x[0]) * sx - side / 2);
      const top = Math.round((y[1] - this.y[i]) * sy - side / 2);
      if (left + side <= 0 || top + side <= 0 || left >= w || top >= h) return;
      for (let row = Math.max(0, top); row < Math.min(h, top + side); row++) {
        pixels.fill(word, row * w + Math.max(0, left), row * w + Math.min(w, left + side));
      }
    };
    // Selected points are drawn last: a dark frame around the point's own colour.
    const picked = new Map();
    for (const i of this.highlight) picked.set(i, 0);
    if (this.density) this.drawDensity(pixels, w, h, sx, sy);
    else {
      for (const { ids, colour, size } of this.groups) {
        const word = rgbaWord(colour);
        const side = Math.max(1, Math.round(size * dpr));
        for (const i of ids) {
          square(i, side, word);
          if (picked.has(i)) picked.set(i, word);
        }
      }
    }
    const frame = rgbaWord(HIGHLIGHT);
    const side = Math.max(3, Math.round(6 * dpr));
    for (const [i, word] of picked) {
      square(i, side, frame);
      if (word) square(i, side - 2 * Math.max(1, Math.round(dpr)), word);
    }
    context.putImageData(image, 0, 0);
    this.drawOverlay();
  }

  // Points per pixel (every drawn group but the first, the clips outside the filter), log-scaled.
  drawDensity(pixels, w, h, sx, sy) {
    const counts = new Uint32Array(w * h);
    let most = 1;
    const { x, y } = this.view;
    for (const { ids, background } of this.groups) {
      if (background) continue;
      for (const i of ids) {
        const px = Math.floor((this.x[i] - x[0]) * sx);
        const py = Math.floor((y[1] - this.y[i]) * sy);
        if (px < 0 || py < 0 || px >= w || py >= h) continue;
        most = Math.max(most, ++counts[py * w + px]);
      }
    }
    const words = RAMP.map(rgbaWord);
    const scale = (RAMP.length - 1) / Math.log(most + 1);
    for (let p = 0; p < counts.length; p++) {
      if (counts[p]) pixels[p] = words[Math.min(RAMP.length - 1, Math.floor(Math.log(counts[p] + 1) * scale))];
    }
  }

  // The selection outline and the hovered point's ring, on a second canvas so neither redraws the points.
  drawOverlay(path = null) {
    const dpr = window.devicePixelRatio || 1;
    const context = this.overlay.getContext("2d");
    context.setTransform(dpr, 0, 0, dpr, 0, 0);
    context.clearRect(0, 0, this.width, this.height);
    const outline = path || (this.selection && this.selection.map(([wx, wy]) => this.project(wx, wy)));
    if (outline && outline.length > 1) {
      context.beginPath();
      outline.forEach(([px, py], k) => (k ? context.lineTo(px, py) : context.moveTo(px, py)));
      context.closePath();
      context.setLineDash([4, 3]);
      context.strokeStyle = "#333";
      context.fillStyle = "rgba(43, 108, 176, 0.08)";
      context.fill();
      context.stroke();
      context.setLineDash([]);
    }
    if (this.hovered >= 0) {
      const [px, py] = this.toScreen(this.hovered);
      context.beginPath();
      context.arc(px, py, 5, 0, 2 * Math.PI);
      context.strokeStyle = "#000";
      context.stroke();
    }
  }

  // The drawn point nearest to a screen position, within HIT_RADIUS, or -1.
  nearest(sx, sy) {
    const [wx0, wy0] = this.toWorld(sx - HIT_RADIUS, sy + HIT_RADIUS);
    const [wx1, wy1] = this.toWorld(sx + HIT_RADIUS, sy - HIT_RADIUS);
    let best = -1;
    let bestDistance = HIT_RADIUS * HIT_RADIUS;
    this.index.each(wx0, wy0, wx1, wy1, (i) => {
      const [px, py] = this.toScreen(i);
      const distance = (px - sx) ** 2 + (py - sy) ** 2;
      if (distance <= bestDistance) [best, bestDistance] = [i, distance];
    });
    return best;
  }

  // Points inside a world-space polygon, in row order.
  pointsIn(polygon) {
    const xs = polygon.map((p) => p[0]);
    const ys = polygon.map((p) => p[1]);
    const ids = [];
    this.index.each(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys), (i) => {
      if (insidePolygon(this.x[i], this.y[i], polygon)) ids.push(i);
    });
    return ids.sort((a, b) => a - b);
  }

  listen() {
    const target = this.overlay;
    const local = (e) => {
      const box = target.getBoundingClientRect();
      return [e.clientX - box.left, e.clientY - box.top];
    };
    let drag = null;
    target.addEventListener("pointerdown", (e) => {
      target.setPointerCapture(e.pointerId);
      const mode = e.shiftKey ? "box" : this.mode;
      drag = { mode, start: local(e), path: [local(e)], view: structuredClone(this.view), moved: false };
    });
    target.addEventListener("pointermove", (e) => {
      const [sx, sy] = local(e);
      if (!drag) return this.hover(sx, sy, e);
      drag.moved ||= Math.hypot(sx - drag.start[0], sy - drag.start[1]) >= CLICK_SLOP;
      if (!drag.moved) return undefined;
      if (drag.mode === "pan") {
        const dx = ((sx - drag.start[0]) / this.width) * (drag.view.x[1] - drag.view.x[0]);
        const dy = ((sy - drag.start[1]) / this.height) * (drag.view.y[1] - drag.view.y[0]);
        this.view = { x: drag.view.x.map((v) => v - dx), y: drag.view.y.map((v) => v + dy) };
        return this.redrawSoon();
      }
      if (drag.mode === "box") {
        const [x0, y0] = drag.start;
        drag.path = [[x0, y0], [sx, y0], [sx, sy], [x0, sy]];
      } else drag.path.push([sx, sy]);
      return this.drawOverlay(drag.path);
    });
    target.addEventListener("pointerup", (e) => {
      const done = drag;
      drag = null;
      if (!done) return;
      if (!done.moved) {
        const hit = this.nearest(...local(e));
        if (hit >= 0) this.handlers.onClick(hit);
      } else if (done.mode !== "pan" && done.path.length > 2) {
        this.selection = done.path.map(([px, py]) => this.toWorld(px, py));
        this.drawOverlay();
        this.handlers.onSelect(this.pointsIn(this.selection));
      }
    });
    target.addEventListener("pointerleave", () => this.hover(-Infinity, -Infinity, null));
    target.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [wx, wy] = this.toWorld(...local(e));
      const factor = Math.exp(e.deltaY * 0.002);
      this.view = { x: this.view.x.map((v) => wx + (v - wx) * factor), y: this.view.y.map((v) => wy + (v - wy) * factor) };
      this.redrawSoon();
    }, { passive: false });
    target.addEventListener("dblclick", () => this.reset());
    this.container.addEventListener("keydown", (e) => {
      if (this.key(e.key)) e.preventDefault();
    });
  }

  reset() {
    this.view = { x: [...this.full.x], y: [...this.full.y] };
    this.redrawSoon();
  }

  // Arrow keys pan, + and - zoom around the centre, 0 resets; true if the key was ours.
  key(name) {
    const { x, y } = this.view;
    const [dx, dy] = [(x[1] - x[0]) * PAN_STEP, (y[1] - y[0]) * PAN_STEP];
    const shifts = { ArrowLeft: [-dx, 0], ArrowRight: [dx, 0], ArrowUp: [0, dy], ArrowDown: [0, -dy] };
    const zooms = { "+": 0.8, "=": 0.8, "-": 1.25, _: 1.25 };
    if (name in shifts) {
      const [mx, my] = shifts[name];
      this.view = { x: x.map((v) => v + mx), y: y.map((v) => v + my) };
    } else if (name in zooms) {
      const [cx, cy] = [(x[0] + x[1]) / 2, (y[0] + y[1]) / 2];
      this.view = { x: x.map((v) => cx + (v - cx) * zooms[name]), y: y.map((v) => cy + (v - cy) * zooms[name]) };
    } else if (name === "0") {
      this.reset();
      return true;
    } else return false;
    this.redrawSoon();
    return true;
  }

  hover(sx, sy, e) {
    const hit = Number.isFinite(sx) ? this.nearest(sx, sy) : -1;
    this.overlay.style.cursor = hit >= 0 ? "pointer" : "";
    if (hit === this.hovered) return;
    this.hovered = hit;
    this.drawOverlay();
    this.handlers.onHover(hit, e ? e.clientX : 0, e ? e.clientY : 0);
  }

  redrawSoon() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.draw(); });
  }

}
