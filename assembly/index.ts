// The kernels. Pure functions of pointers (bytes) and counts (elements): no
// allocation, no static data, no memory growth; the host owns memory layout.
export { activate } from "./probabilities";
export {
  statsMask, statsLabelU8, statsLabelU16, statsLabelI32, statsLabelF32,
  statsInterleavedU8, statsInterleavedU16, statsInterleavedI32, statsInterleavedF32,
} from "./stats";
export { backwardMask, backwardLabelU8, backwardLabelU16, backwardLabelI32, backwardLabelF32 } from "./backward";
export { sumPlain } from "./baseline";
export {
  softmaxInterleaved,
  backwardInterleavedMask, backwardInterleavedU8, backwardInterleavedU16, backwardInterleavedI32, backwardInterleavedF32,
} from "./interleaved";
