// anywidget entry point: one record store per model (initialize), one RnnbowApp per display (render).
import type { AnyModel } from "@anywidget/types";
import { RnnbowApp } from "./app/app";
import { attachMessages } from "./data/sync";
import { attachUnits } from "./data/units-data";
import "./style.css";

function initialize({ model }: { model: AnyModel }) {
  const records = attachMessages(model);
  // Per-unit answers are cached per model, like records (rnnbow_widget.units).
  const units = attachUnits(model);
  return () => {
    records.detach?.();
    units.detach?.();
  };
}

function render({ model, el }: { model: AnyModel; el: HTMLElement }) {
  const records = attachMessages(model);
  const app = new RnnbowApp(model, records, el);
  return () => app.destroy();
}

export default { initialize, render };
