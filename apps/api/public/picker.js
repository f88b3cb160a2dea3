// The files chosen but not yet submitted, each with a preview, its size and a remove button.
import { formatBytes } from "./text.js";

const element = (tag, props) => Object.assign(document.createElement(tag), props);

/** A preview of the file; where the browser cannot show it (not an image?), its extension. */
function thumbnail(item) {
  const thumb = element("img", { src: item.url, alt: "", className: "pick-thumb" });
  thumb.addEventListener("error", () => {
    const extension = /\.(\w{1,4})$/.exec(item.file.name)?.[1] ?? "?";
    thumb.replaceWith(element("span", { className: "pick-thumb broken", textContent: extension }));
  });
  return thumb;
}

/** Renders `picked` (`{ file, url, error }`) into `list`; `onRemove(item)` when its × is pressed. */
export function renderPicked(list, picked, { onRemove }) {
  list.replaceChildren(
    ...picked.map((item) => {
      const remove = element("button", {
        type: "button",
        className: "icon",
        textContent: "×",
        ariaLabel: `Remove ${item.file.name}`,
      });
      remove.addEventListener("click", () => onRemove(item));
      const li = element("li", { className: item.error ? "pick has-error" : "pick" });
      li.append(
        thumbnail(item),
        element("span", { className: "pick-name", textContent: item.file.name }),
        element("span", { className: "muted", textContent: formatBytes(item.file.size) }),
        remove,
      );
      return li;
    }),
  );
}
