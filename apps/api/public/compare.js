// The before/after viewer: both images fill one box with the result's aspect ratio, so a 150×100
// input and its 600×400 result show at the same size; a range input (keyboard and pointer) moves
// the split. Each half has its own checkerboard, so a transparent cut-out shows as such.

/**
 * Shows `after` (and `before`, when known) in `root`, which holds `.compare-before`,
 * `.compare-after` and `.compare-range`; `size` is the result's `{ width, height }`.
 */
export function showComparison(root, { before, after, size, labels }) {
  const [beforeImg, afterImg] = [root.querySelector(".compare-before"), root.querySelector(".compare-after")];
  const range = root.querySelector(".compare-range");
  root.style.setProperty("--ratio", `${size.width} / ${size.height}`);
  root.style.setProperty("--aspect", String(size.width / size.height));
  afterImg.src = after;
  afterImg.alt = labels.after;
  root.classList.toggle("single", !before);
  if (before) {
    beforeImg.src = before;
    beforeImg.alt = labels.before;
  } else {
    beforeImg.removeAttribute("src");
    beforeImg.alt = "";
  }
  range.hidden = !before;
  range.value = "50";
  setSplit(root, 50);
}

function setSplit(root, percent) {
  root.style.setProperty("--split", `${percent}%`);
}

/** Wires the range input once. */
export function initComparison(root) {
  const range = root.querySelector(".compare-range");
  range.addEventListener("input", () => setSplit(root, Number(range.value)));
}
