// The overview's metric choices: trait value -> column and axis title.
import type { Metric } from "./model";

export const METRICS: Record<Metric, { column: string; title: string; option: string }> = {
  max: { column: "max_gradient", title: "max gradient", option: "max gradient" },
  mean: { column: "mean_gradient", title: "mean gradient", option: "mean gradient" },
  horizon: {
    column: "effective_horizon",
    title: "effective horizon (steps)",
    option: "effective horizon",
  },
  reach: { column: "reach", title: "reach (steps)", option: "reach (1% rule)" },
};
