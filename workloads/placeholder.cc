namespace weir::workloads {}
