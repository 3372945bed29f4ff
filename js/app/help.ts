// Plain-words reading guidance shown next to each view when the "?" toggle is on.
import { JUMP_RULE } from "../data/explode";

export const HELP = {
  overview:
    "Each bar is one recorded chunk of text, in training order. The x axis counts recorded " +
    "chunks, not training steps (chunks recorded with trainer.step() sit right after the others); " +
    "hover a bar to see its training step under the axis. When there are more chunks than " +
    "pixels, a bar stands for several chunks and shows the tallest. A tall bar means the network " +
    "changed its recurrent weights a lot on that chunk: it was surprised there. The orange line " +
    "is the training loss; orange marks under the axis are chunks whose gradient was clipped. " +
    JUMP_RULE +
    " A red vertical line marks where training diverged (the gradient or the weights became inf " +
    "or NaN). Hover a bar to preview it below, click to select it, drag to zoom in, double-click " +
    "to zoom out (while zoomed in, a click selects after a short pause). With 'max gradient', a bar's height is the chunk's largest gradient at one " +
    "step, summed over every loss that reaches that step: the tallest of the stacked bars below " +
    "with the grey 'others' on ('mean gradient': the average of those bars). The info line " +
    "gives, for the chunk shown: that max gradient; its loss (the mean of its per-character " +
    "losses); the effective horizon (how many steps back the gradient travels on average, " +
    "weighted by size); the reach (the mean over its losses of how many steps back each stays " +
    "above 1% of its local gradient); and the gradient norm (the size of the whole update of all " +
    "the weights, before clipping).",
  labels:
    "Top row: the token (character or word) that really came next. Bottom row: the network's " +
    "best guess, green and plain when right, red, bold and underlined when wrong. ␣ is a space, " +
    "↵ a newline, ⇥ a tab; a token too long for its column ends in … (hover it for all of it).",
  bars:
    "One bar per character position: how much the weights are pushed at that step. The dark " +
    "bottom segment comes from the character's own prediction error; lighter segments above come " +
    "from mistakes made 1, 2, … characters later that still reach back to this step, up to k " +
    "(losses per bar). The grey segment on top ('+ others') sums every loss further away, so a " +
    "bar is all the gradient its step receives and the tallest bar is the overview's max " +
    "gradient; without it, the bars hold only the k nearest losses and are shorter. Mostly dark " +
    "bars mean the network learns only from what is right in front of it. A recording of a " +
    "batch (a PyTorch Recorder's) shows one sequence of it in the labels: 'gradient of' chooses " +
    "between the whole batch's gradient (what the optimizer applies; the overview's too) and " +
    "that sequence's own (its own losses only), here and in the horizon below; the line above " +
    "the legend says which.",
  horizon:
    "How the gradient of one loss travels back in time. Each blue bar is the push it gives at an " +
    "earlier step. If the bars shrink quickly to nothing, the network cannot learn dependencies " +
    "longer than a few characters (vanishing gradient); bars that stay tall mean long-range " +
    "learning is possible. Turn on the log scale to see the tail. It opens on the largest loss " +
    "among the steps with at least min(k, n/2) steps before them in the chunk (a loss at step 0 " +
    "or 1 has almost no past to show); hover a segment above to see another loss.",
  units:
    "One row per hidden unit, sorted by how much of this loss's gradient it carries (largest on " +
    "top); one column per step, under the columns above. A cell is the size of that unit's row " +
    "of the gradient on W_hh at that step. Rows that stay coloured far to the left are the units " +
    "that carry the memory; the list below names the top five and how far back each reaches. The " +
    "kernel sends a chunk's units when the chunk is shown (while it trains, they wait).",
} as const;

export type HelpTopic = keyof typeof HELP;
