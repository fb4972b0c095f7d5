// The objective section of a run config, declared once (util/settings.ts), apart from the losses
// (objectives.ts) so that reading a config does not load libtorch.
import { z } from "zod";
import { choice, num } from "../util/settings.ts";

/**
 * How L_g is reduced over a batch: "pixel" = mean over all B·H·W pixels (nats per pixel);
 * "image" = sum over each image's H·W pixels, mean over the B images (nats per image, the paper's
 * form). image = H·W · pixel, for the value and for its gradient.
 */
export const GENERATIVE_REDUCTIONS = ["pixel", "image"] as const;
export type GenerativeReduction = (typeof GENERATIVE_REDUCTIONS)[number];

/** Which losses run: gcrl (both), igpt (generative only), simclr (contrastive only). */
export const OBJECTIVE_MODES = ["gcrl", "igpt", "simclr"] as const;
export type ObjectiveMode = (typeof OBJECTIVE_MODES)[number];

/** The objective section of a run config, declared once (util/settings.ts). */
export const OBJECTIVE_SETTINGS = z.strictObject({
  mode: choice(OBJECTIVE_MODES, { default: "gcrl", help: "gcrl (α·L_g + β·L_c), igpt (generative only: no strong view), simclr (contrastive only: no decoder)" }),
  alpha: num({ min: 0, default: 1, help: "weight α of the generative loss (> 0 in gcrl and igpt; ignored by simclr)" }),
  beta: num({ min: 0, default: 1, help: "weight β of the contrastive loss (> 0 in gcrl and simclr; ignored by igpt)" }),
  tau: num({ gt: 0, default: 0.1, help: "NT-Xent temperature τ" }),
  generativeReduction: choice(GENERATIVE_REDUCTIONS, {
    default: "pixel",
    help: "L_g inside α·L_g: pixel (mean NLL over B·H·W pixels) or image (sum over H·W, mean over B: the paper's; = pixel with α·H·W)",
  }),
});

