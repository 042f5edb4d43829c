// Reading the fields of a JSON object into typed members, with integers range-checked.
//
// nlohmann's get<int64_t>() of 2.5e88 (or of -1 into a uint64_t) is a float-to-integer or
// sign conversion out of range: undefined behaviour, or a silently different number, not an
// error. A file the program wrote holds integers as JSON integers; anything else in an
// integer field is a damaged or hand-edited file and is refused with the key's name.
#pragma once

#include <limits>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "edge/common/error.h"

namespace edge {

// A field of the wrong kind or out of range; its message names the key but not the file,
// which the reader of the file adds.
class JsonFieldError : public DataError {
 public:
  using DataError::DataError;
};

// v as an integer of type T, or a JsonFieldError naming `key` and the range of T.
template <typename T>
T json_integer(const nlohmann::json& v, std::string_view key) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const auto s = v.get<int64_t>();
    const bool fits = std::is_signed_v<T> ? (s >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                             s <= static_cast<int64_t>(std::numeric_limits<T>::max()))
                                          : (s >= 0 && static_cast<uint64_t>(s) <=
                                                           static_cast<uint64_t>(std::numeric_limits<T>::max()));
    if (fits) return static_cast<T>(s);
  }
  throw JsonFieldError(fmt::format("'{}': expected an integer from {} to {}, got {}", key, std::numeric_limits<T>::min(),
                              std::numeric_limits<T>::max(), v.dump()));
}

// j[key] into out (nlohmann's type_error / out_of_range where it is missing or of another
// type; integers through json_integer).
template <typename T>
void read_json_field(const nlohmann::json& j, const char* key, T& out) {
  const auto& v = j.at(key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    out = json_integer<T>(v, key);
  else
    v.get_to(out);
}

// j[key] where present, else `fallback` (for keys added after the first release).
template <typename T>
T read_json_field_or(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.contains(key)) return fallback;
  read_json_field(j, key, fallback);
  return fallback;
}

// read(), with a malformed-JSON error of either kind (nlohmann's parse/type errors or a
// JsonFieldError) turned into one DataError whose message is describe(what): each reader of a
// JSON file names the file once, whichever check refused it.
template <typename Read, typename Describe>
auto with_json_errors(Read&& read, Describe&& describe) -> decltype(read()) {
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    throw DataError(describe(e.what()));
  } catch (const JsonFieldError& e) {
    throw DataError(describe(e.what()));
  }
}

}  // namespace edge
