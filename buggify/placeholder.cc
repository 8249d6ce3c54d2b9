namespace weir::buggify {}
