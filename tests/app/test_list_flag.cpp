// Comma-separated flag values.
#include <gtest/gtest.h>

#include "app/list_flag.h"

namespace {

using V = std::vector<std::string>;

TEST(ListFlag, SplitsTrimsAndDropsEmptyItems) {
  EXPECT_EQ(edge::app::split_list("bag,textures,noise"), (V{"bag", "textures", "noise"}));
  EXPECT_EQ(edge::app::split_list(" energy_sum , msp,,"), (V{"energy_sum", "msp"}));
  EXPECT_EQ(edge::app::split_list("folder:/data/My Photos, textures"), (V{"folder:/data/My Photos", "textures"}));
  EXPECT_EQ(edge::app::split_list(""), V{});
  EXPECT_EQ(edge::app::split_list(" , "), V{});
}

}  // namespace
