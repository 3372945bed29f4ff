// Plain-words reading guidance shown next to each view when the "?" toggle is on.
import { JUMP_RULE } from "../data/explode";

export const HELP = {
  overview:
    "Each bar is one recorded chunk of text, in training order. A tall bar means the network " +
    "changed its recurrent weights a lot on that chunk: it was surprised there. The orange line " +
    "is the training loss; orange marks under the axis are chunks whose gradient was clipped. " +
    JUMP_RULE +
    " A red vertical line marks where training diverged (the gradient or the weights became inf " +
    "or NaN). Hover a bar to preview it below, click to select it, drag to zoom in, double-click " +
    "to zoom out.",
  labels:
    "Top row: the character that really came next. Bottom row: the network's best guess, green " +
    "and plain when right, red, bold and underlined when wrong. ␣ is a space, ↵ a newline, ⇥ a " +
    "tab.",
  bars:
    "One bar per character position: how much the weights are pushed at that step. The dark " +
    "bottom segment comes from the character's own prediction error; lighter segments above come " +
    "from mistakes made 1, 2, … characters later that still reach back to this step. Mostly dark " +
    "bars mean the network learns only from what is right in front of it.",
  horizon:
    "How the gradient of one loss travels back in time. Each blue bar is the push it gives at an " +
    "earlier step. If the bars shrink quickly to nothing, the network cannot learn dependencies " +
    "longer than a few characters (vanishing gradient); bars that stay tall mean long-range " +
    "learning is possible. Turn on the log scale to see the tail.",
  units:
    "One row per hidden unit, sorted by how much of this loss's gradient it carries (largest on " +
    "top); one column per step, under the columns above. A cell is the size of that unit's row " +
    "of the gradient on W_hh at that step. Rows that stay coloured far to the left are the units " +
    "that carry the memory; the list below names the top five and how far back each reaches. The " +
    "kernel sends a chunk's units when the chunk is shown (while it trains, they wait).",
} as const;

export type HelpTopic = keyof typeof HELP;
