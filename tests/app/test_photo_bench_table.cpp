// RESULTS.md's hand-written part survives a rerun of edge bench-photo.
#include <gtest/gtest.h>

#include <string>

#include "app/photo_bench_table.h"

namespace {

using edge::app::keep_hand_written;
using edge::app::kHandWrittenMarker;

TEST(PhotoBenchTable, HandWrittenPartAfterTheMarkerIsKept) {
  const std::string notes = std::string(kHandWrittenMarker) + "\n## What the study found\n";
  EXPECT_EQ(keep_hand_written("# tables v2\n", "# tables v1\n\n" + notes), "# tables v2\n\n" + notes);
  EXPECT_EQ(keep_hand_written("# tables v2\n", "# tables v1\n"), "# tables v2\n");
  EXPECT_EQ(keep_hand_written("# tables\n", ""), "# tables\n");
}

}  // namespace
