// The Dice family of losses: each loss's spec and function live in
// src/losses/, one file each; the registry finds them by kind.
export { diceLoss } from "./losses/dice.js";
export { diceCELoss } from "./losses/dice-ce.js";
export { diceFocalLoss, generalizedDiceFocalLoss } from "./losses/dice-focal.js";
export { generalizedDiceLoss } from "./losses/generalized-dice.js";
export type { AnyLossOptions, LossResult, LossSpec } from "./losses/plan.js";
export { LOSSES, type LossKind } from "./losses/registry.js";
export { checkLossOptions, lossBackward, lossForward } from "./losses/run.js";
export { tverskyLoss } from "./losses/tversky.js";
