enable subgroups;

// sum_over_workgroup for matvec.wgsl on devices with the `subgroups` feature: subgroupAdd sums each subgroup, then
// one lane of every subgroup leaves its sums in workgroup memory. The subgroup size (4 on SwiftShader, 32 on
// NVIDIA, 64 on AMD, varying on Intel) and the assignment of lanes to subgroups are whatever the device chose: each
// subgroup's first active lane marks its slot in a bit mask, and lane 0 adds the marked slots in lane order, so the
// result does not depend on which subgroup finished first.

var<workgroup> subgroup_sums: array<RowSums, LANES>;
var<workgroup> first_lanes: array<atomic<u32>, LANES / 32u>;

/** The sum of every lane's `partial`, in lane 0. */
fn sum_over_workgroup(lane: u32, partial: RowSums) -> RowSums {
  var sums: RowSums;
  for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) { sums[r] = subgroupAdd(partial[r]); }
  if (subgroupBroadcastFirst(lane) == lane) {
    subgroup_sums[lane] = sums;
    atomicOr(&first_lanes[lane / 32u], 1u << (lane % 32u));
  }
  workgroupBarrier();
  var total: RowSums;
  if (lane != 0u) { return total; }
  for (var word = 0u; word < LANES / 32u; word++) {
    var marked = atomicLoad(&first_lanes[word]);
    while (marked != 0u) {
      let slot = 32u * word + countTrailingZeros(marked);
      for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) { total[r] += subgroup_sums[slot][r]; }
      marked &= marked - 1u;
    }
  }
  return total;
}
