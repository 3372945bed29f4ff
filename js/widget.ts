// anywidget entry point: one record store per model (initialize), one RnnbowApp per display
// (render).
import type { AnyWidget, InitializeProps, RenderProps } from "@anywidget/types";
import { RnnbowApp } from "./app/app";
import { EXAMPLE_COLUMN } from "./data/chunk";
import type { Model } from "./data/model";
import { attachMessages } from "./data/sync";
import { trianglesFor } from "./data/triangles";
import { attachUnits } from "./data/units-data";
import "./style.css";

function initialize({ model }: Pick<InitializeProps<Model>, "model">) {
  const records = attachMessages(model);
  // Per-unit answers are cached per model, like records (rnnbow_widget.units).
  const units = attachUnits(model);
  // So are whole magnitude triangles of long chunks (rnnbow_widget.payload.magnitudes_message),
  // the batch's and the shown sequence's own.
  const triangles = [trianglesFor(model).listen(), trianglesFor(model, EXAMPLE_COLUMN).listen()];
  return () => {
    records.detach?.();
    units.detach?.();
    for (const column of triangles) column.detach();
  };
}

function render({ model, el }: Pick<RenderProps<Model>, "model" | "el">) {
  const records = attachMessages(model);
  const app = new RnnbowApp(model, records, el);
  return () => app.destroy();
}

export default { initialize, render } satisfies AnyWidget<Model>;
