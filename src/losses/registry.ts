// Every loss of the Dice family, by kind: where the tfjs ops, their kernels,
// the float64 references and the tf-ops twins find a loss's spec. A new loss
// is a spec file in this folder, an entry here, its reference and its twin
// (both keyed by this registry's kinds, so that none can be forgotten), and
// its tests.
import { DICE } from "./dice.js";
import { DICE_CE } from "./dice-ce.js";
import { DICE_FOCAL, GENERALIZED_DICE_FOCAL } from "./dice-focal.js";
import { GENERALIZED_DICE } from "./generalized-dice.js";
import type { LossSpec } from "./plan.js";
import { TVERSKY } from "./tversky.js";

export const LOSSES = {
  dice: DICE,
  tversky: TVERSKY,
  generalizedDice: GENERALIZED_DICE,
  diceCE: DICE_CE,
  diceFocal: DICE_FOCAL,
  generalizedDiceFocal: GENERALIZED_DICE_FOCAL,
} satisfies Record<string, LossSpec>;

export type LossKind = keyof typeof LOSSES;
