// json_fields.h: integer fields of a JSON file are range-checked, everything else reads as before.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "edge/common/json_fields.h"
#include "support/test_support.h"

namespace {

using edge::json_integer;
using nlohmann::json;

TEST(JsonFields, IntegersInRangeReadExactly) {
  EXPECT_EQ(json_integer<int64_t>(json(INT64_MIN), "k"), INT64_MIN);
  EXPECT_EQ(json_integer<int64_t>(json(INT64_MAX), "k"), INT64_MAX);
  EXPECT_EQ(json_integer<uint64_t>(json(UINT64_MAX), "k"), UINT64_MAX);
  EXPECT_EQ(json_integer<uint64_t>(json(0), "k"), 0u);
  EXPECT_EQ(json_integer<int32_t>(json(-5), "k"), -5);
  EXPECT_EQ(json_integer<uint8_t>(json::parse("255"), "k"), 255);
}

TEST(JsonFields, OutOfRangeFractionalAndNonNumbersNameTheKey) {
  const auto msg = [](auto read) { return edge::test::error_message(read); };
  EXPECT_EQ(msg([] { json_integer<int64_t>(json::parse("2.56e88"), "image_size"); }),
            "'image_size': expected an integer from -9223372036854775808 to 9223372036854775807, got 2.56e+88");
  EXPECT_EQ(msg([] { json_integer<uint64_t>(json(-1), "seed"); }),
            "'seed': expected an integer from 0 to 18446744073709551615, got -1");
  EXPECT_EQ(msg([] { json_integer<int64_t>(json(UINT64_MAX), "n"); }),
            "'n': expected an integer from -9223372036854775808 to 9223372036854775807, got 18446744073709551615");
  EXPECT_EQ(msg([] { json_integer<int32_t>(json(int64_t{1} << 40), "topk"); }),
            "'topk': expected an integer from -2147483648 to 2147483647, got 1099511627776");
  EXPECT_EQ(msg([] { json_integer<int64_t>(json(3.0), "k"); }),
            "'k': expected an integer from -9223372036854775808 to 9223372036854775807, got 3.0");
  EXPECT_EQ(msg([] { json_integer<int64_t>(json("3"), "k"); }),
            "'k': expected an integer from -9223372036854775808 to 9223372036854775807, got \"3\"");
  EXPECT_THROW(json_integer<int64_t>(json(nullptr), "k"), edge::JsonFieldError);
}

TEST(JsonFields, FieldsAndDefaults) {
  const json j = {{"n", 7}, {"name", "x"}, {"rate", 0.5}, {"big", 1e300}};
  int64_t n = 0;
  std::string name;
  double rate = 0;
  edge::read_json_field(j, "n", n);
  edge::read_json_field(j, "name", name);
  edge::read_json_field(j, "rate", rate);
  EXPECT_EQ(n, 7);
  EXPECT_EQ(name, "x");
  EXPECT_EQ(rate, 0.5);
  EXPECT_EQ(edge::read_json_field_or(j, "absent", int64_t{3}), 3);
  EXPECT_EQ(edge::read_json_field_or(j, "n", int64_t{3}), 7);
  EXPECT_THROW(edge::read_json_field(j, "big", n), edge::JsonFieldError);
  EXPECT_THROW(edge::read_json_field(j, "absent", n), json::out_of_range);
  EXPECT_THROW(edge::read_json_field(j, "name", rate), json::type_error);
}

}  // namespace
