// Header-only module (CFuzzerDriver.h); SwiftPM wants at least one source file per C target.
#include "CFuzzerDriver.h"
