// Small helpers to create HTML and SVG elements. Text is only ever set through textContent.

const SVG_NS = "http://www.w3.org/2000/svg";

type Attributes = Record<string, string | number | undefined>;

function applyAttributes(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) element.setAttribute(name, String(value));
  }
}

export function html<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  applyAttributes(element, attributes);
  if (text !== undefined) element.textContent = text;
  return element;
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  text?: string,
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  applyAttributes(element, attributes);
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Remove all children of an element. */
export function clear(element: Element): void {
  while (element.firstChild) element.removeChild(element.firstChild);
}

/**
 * Empty an SVG and size it to width × height px (its viewBox the same), on a background rect of
 * that colour when one is given.
 */
export function resetSvg(
  root: SVGSVGElement,
  width: number,
  height: number,
  background?: string,
): void {
  clear(root);
  root.setAttribute("width", String(width));
  root.setAttribute("height", String(height));
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  if (background !== undefined)
    root.appendChild(svg("rect", { x: 0, y: 0, width, height, fill: background }));
}

/** Add a DOM listener and return the function that removes it. */
export function listen<K extends keyof HTMLElementEventMap>(
  target: HTMLElement | SVGElement,
  type: K,
  handler: (event: HTMLElementEventMap[K]) => void,
): () => void {
  target.addEventListener(type, handler as EventListener);
  return () => target.removeEventListener(type, handler as EventListener);
}
