// Downloading a view as SVG or PNG. Views draw with concrete colours and fonts (no CSS classes
// needed), so the serialized SVG looks like the screen.

const SVG_NS = "http://www.w3.org/2000/svg";

/** A standalone SVG document for a view; a canvas (overview bars) is embedded as an image. */
function viewToSvg(svgElement: SVGSVGElement, canvas?: HTMLCanvasElement): string {
  const copy = svgElement.cloneNode(true) as SVGSVGElement;
  copy.setAttribute("xmlns", SVG_NS);
  for (const hidden of Array.from(copy.querySelectorAll('[visibility="hidden"]'))) hidden.remove();
  if (canvas) {
    const image = document.createElementNS(SVG_NS, "image");
    image.setAttribute("href", canvas.toDataURL("image/png"));
    image.setAttribute("x", "0");
    image.setAttribute("y", "0");
    image.setAttribute("width", copy.getAttribute("width") ?? "0");
    image.setAttribute("height", copy.getAttribute("height") ?? "0");
    copy.insertBefore(image, copy.firstChild);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}`;
}

function download(url: string, filename: string): void {
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.style.display = "none";
  document.body.appendChild(link);
  link.click();
  link.remove();
}

export function downloadSvg(
  svgElement: SVGSVGElement,
  filename: string,
  canvas?: HTMLCanvasElement,
): void {
  const blob = new Blob([viewToSvg(svgElement, canvas)], { type: "image/svg+xml" });
  const url = URL.createObjectURL(blob);
  download(url, `${filename}.svg`);
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Rasterize the view's SVG at twice its size and download it as PNG. */
export function downloadPng(
  svgElement: SVGSVGElement,
  filename: string,
  canvas?: HTMLCanvasElement,
): Promise<void> {
  const width = Number(svgElement.getAttribute("width")) || 800;
  const height = Number(svgElement.getAttribute("height")) || 200;
  const scale = 2;
  const text = encodeURIComponent(viewToSvg(svgElement, canvas));
  const source = `data:image/svg+xml;charset=utf-8,${text}`;
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const raster = document.createElement("canvas");
      raster.width = width * scale;
      raster.height = height * scale;
      const context = raster.getContext("2d");
      if (!context) return reject(new Error("rnnbow: no 2d canvas for PNG export"));
      context.drawImage(image, 0, 0, raster.width, raster.height);
      download(raster.toDataURL("image/png"), `${filename}.png`);
      resolve();
    };
    image.onerror = () => reject(new Error("rnnbow: could not rasterize the view"));
    image.src = source;
  });
}
