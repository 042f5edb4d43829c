// stb's function bodies, for builds on packed dependencies (scripts/gpu-check.sh), which carry
// stb's headers but not Debian's libstb.so. Never compiled when the system's libstb is used.
// (The writer is for the tests, which make their image fixtures as PNGs.)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>
