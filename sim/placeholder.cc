namespace weir::sim {}
