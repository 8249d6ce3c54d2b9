// Real runtime implementations are added alongside this file.
namespace weir::real {}
