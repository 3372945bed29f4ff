// Every test starts from an empty page with a stub 2D canvas (jsdom has none).
import { afterEach, beforeEach } from "vitest";
import { stubCanvas } from "./helpers";

beforeEach(() => {
  stubCanvas();
  document.body.innerHTML = "";
});

afterEach(() => {
  document.body.innerHTML = "";
});
