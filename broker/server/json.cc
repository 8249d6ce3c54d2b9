#include "broker/server/json.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace weir::broker {
namespace {

absl::string_view sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

void dump_string(const std::string& s, std::string& out) {
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      static const char* kHex = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void dump_value(const JsonValue& v, std::string& out) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull:
      out.append("null");
      break;
    case JsonValue::Kind::kBool:
      out.append(v.as_bool() ? "true" : "false");
      break;
    case JsonValue::Kind::kNumber:
      out.append(absl::StrCat(v.as_int()));
      break;
    case JsonValue::Kind::kString:
      dump_string(v.as_string(), out);
      break;
    case JsonValue::Kind::kArray: {
      out.push_back('[');
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i > 0) out.push_back(',');
        dump_value(v.items()[i], out);
      }
      out.push_back(']');
      break;
    }
    case JsonValue::Kind::kObject: {
      out.push_back('{');
      for (size_t i = 0; i < v.members().size(); ++i) {
        if (i > 0) out.push_back(',');
        dump_string(v.members()[i].first, out);
        out.push_back(':');
        dump_value(v.members()[i].second, out);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

// A recursive-descent parser whose recursion is bounded by limits.depth_max.
class JsonParser {
 public:
  JsonParser(std::string_view text, JsonLimits limits) : text_(text), limits_(limits) {}

  absl::StatusOr<JsonValue> parse() {
    if (text_.size() > limits_.bytes_max)
      return absl::InvalidArgumentError(
          absl::StrCat("json: ", text_.size(), " bytes exceed ", limits_.bytes_max));
    JsonValue v;
    if (!value(v, 0)) return error();
    skip_space();
    if (pos_ != text_.size()) return error("trailing characters");
    return v;
  }

 private:
  absl::Status error(std::string_view problem = {}) {
    if (!problem.empty()) problem_ = std::string(problem);
    return absl::InvalidArgumentError(absl::StrCat("json: ", problem_, " at byte ", pos_));
  }
  bool fail(std::string_view problem) {
    if (problem_.empty()) problem_ = std::string(problem);
    return false;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\t' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail("unknown literal");
    pos_ += word.size();
    return true;
  }

  bool value(JsonValue& out, size_t depth) {
    if (depth > limits_.depth_max) return fail("nested too deep");
    skip_space();
    if (pos_ >= text_.size()) return fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      out.kind_ = JsonValue::Kind::kString;
      return string(out.string_);
    }
    if (c == 't' || c == 'f') {
      out.kind_ = JsonValue::Kind::kBool;
      out.bool_ = c == 't';
      return literal(c == 't' ? "true" : "false");
    }
    if (c == 'n') return literal("null");
    return number(out);
  }

  bool number(JsonValue& out) {
    const size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E'))
      return fail("only integers are expected");
    int64_t v = 0;
    if (!absl::SimpleAtoi(sv(text_.substr(start, pos_ - start)), &v)) return fail("bad number");
    out.kind_ = JsonValue::Kind::kNumber;
    out.int_ = v;
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'u':
          if (!unicode(out)) return false;
          break;
        default:
          return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  // \uXXXX as UTF-8 (surrogate pairs are kept as two code points: no znode holds them).
  bool unicode(std::string& out) {
    if (pos_ + 4 > text_.size()) return fail("short \\u escape");
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9')
        cp |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        cp |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        cp |= static_cast<uint32_t>(h - 'A' + 10);
      else
        return fail("bad \\u escape");
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
    return true;
  }

  bool array(JsonValue& out, size_t depth) {
    out.kind_ = JsonValue::Kind::kArray;
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      if (!value(out.items_.emplace_back(), depth + 1)) return false;
      skip_space();
      if (pos_ >= text_.size()) return fail("unterminated array");
      const char c = text_[pos_++];
      if (c == ']') return true;
      if (c != ',') return fail("expected , or ]");
    }
  }

  bool object(JsonValue& out, size_t depth) {
    out.kind_ = JsonValue::Kind::kObject;
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a key");
      JsonValue::Member& m = out.members_.emplace_back();
      if (!string(m.first)) return false;
      skip_space();
      if (pos_ >= text_.size() || text_[pos_++] != ':') return fail("expected :");
      if (!value(m.second, depth + 1)) return false;
      skip_space();
      if (pos_ >= text_.size()) return fail("unterminated object");
      const char c = text_[pos_++];
      if (c == '}') return true;
      if (c != ',') return fail("expected , or }");
    }
  }

  std::string_view text_;
  JsonLimits limits_;
  size_t pos_ = 0;
  std::string problem_;
};

JsonValue JsonValue::boolean(bool b) {
  JsonValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}
JsonValue JsonValue::number(int64_t n) {
  JsonValue v;
  v.kind_ = Kind::kNumber;
  v.int_ = n;
  return v;
}
JsonValue JsonValue::string(std::string s) {
  JsonValue v;
  v.kind_ = Kind::kString;
  v.string_ = std::move(s);
  return v;
}
JsonValue JsonValue::array(std::vector<JsonValue> items) {
  JsonValue v;
  v.kind_ = Kind::kArray;
  v.items_ = std::move(items);
  return v;
}
JsonValue JsonValue::object(std::vector<Member> members) {
  JsonValue v;
  v.kind_ = Kind::kObject;
  v.members_ = std::move(members);
  return v;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

JsonValue& JsonValue::add(std::string key, JsonValue value) {
  members_.emplace_back(std::move(key), std::move(value));
  return *this;
}

JsonValue& JsonValue::push(JsonValue value) {
  items_.push_back(std::move(value));
  return *this;
}

std::string JsonValue::dump() const {
  std::string out;
  dump_value(*this, out);
  return out;
}

absl::StatusOr<JsonValue> parse_json(std::string_view text, JsonLimits limits) {
  return JsonParser(text, limits).parse();
}

absl::StatusOr<int64_t> json_int(const JsonValue& object, std::string_view key) {
  const JsonValue* v = object.find(key);
  if (v == nullptr || v->kind() != JsonValue::Kind::kNumber)
    return absl::InvalidArgumentError(absl::StrCat("json: \"", sv(key), "\" is not an integer"));
  return v->as_int();
}

absl::StatusOr<std::string> json_string(const JsonValue& object, std::string_view key) {
  const JsonValue* v = object.find(key);
  if (v == nullptr || v->kind() != JsonValue::Kind::kString)
    return absl::InvalidArgumentError(absl::StrCat("json: \"", sv(key), "\" is not a string"));
  return v->as_string();
}

}  // namespace weir::broker
