// Comma-separated flag values.
#include <gtest/gtest.h>

#include "edge/common/list_flag.h"

namespace {

using V = std::vector<std::string>;

TEST(ListFlag, SplitsTrimsAndDropsEmptyItems) {
  EXPECT_EQ(edge::split_list("bag,textures,noise"), (V{"bag", "textures", "noise"}));
  EXPECT_EQ(edge::split_list(" energy_sum , msp,,"), (V{"energy_sum", "msp"}));
  EXPECT_EQ(edge::split_list("folder:/data/My Photos, textures"), (V{"folder:/data/My Photos", "textures"}));
  EXPECT_EQ(edge::split_list(""), V{});
  EXPECT_EQ(edge::split_list(" , "), V{});
}

}  // namespace
