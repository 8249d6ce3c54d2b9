#include "broker/kafka/protocol/print.h"

#include <cstdio>

namespace weir::kafka {

void print_bytes(std::ostream& os, std::string_view bytes) {
  constexpr size_t kShown = 64;
  os << '"';
  for (size_t i = 0; i < bytes.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '"' || c == '\\') {
      os << '\\' << c;
    } else if (c >= 0x20 && c < 0x7f) {
      os << c;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      os << hex;
    }
  }
  os << '"';
  if (bytes.size() > kShown) os << "...(" << bytes.size() << " bytes)";
}

}  // namespace weir::kafka
