// The `edge` command-line program: a thin shell over edge::app::cli_main.
#include <iostream>

#include "edge/app/commands.h"

int main(int argc, char** argv) { return edge::app::cli_main(argc, argv, std::cout, std::cerr); }
