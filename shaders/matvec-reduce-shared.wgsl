// sum_over_workgroup for matvec.wgsl on devices without subgroups: a tree over workgroup memory.

var<workgroup> lane_sums: array<RowSums, LANES>;

/** The sum of every lane's `partial`, in lane 0. */
fn sum_over_workgroup(lane: u32, partial: RowSums) -> RowSums {
  lane_sums[lane] = partial;
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) {
      for (var r = 0u; r < ROWS_PER_WORKGROUP; r++) { lane_sums[lane][r] += lane_sums[lane + stride][r]; }
    }
  }
  return lane_sums[0];
}
