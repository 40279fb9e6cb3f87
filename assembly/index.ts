// The kernels. Pure functions of pointers (bytes) and counts (elements): no
// allocation, no static data, no memory growth; the host owns memory layout.
export { activate, planar } from "./activate";
export { stats } from "./stats";
export { statsInterleaved } from "./stats-interleaved";
export { gradient } from "./gradient";
export { expArray, ln1pArray, lnArray } from "./elementwise";
// the codes the host passes, exported so that init() can check its mirror of them
export * from "./codes";
