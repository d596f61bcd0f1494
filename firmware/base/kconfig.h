/*
 * Kconfig symbols reach C through one generated header, wg_config.h
 * (build/generated/, made by kconfiglib's genconfig from build/.config).
 *
 * IS_ENABLED(CONFIG_X) is 1 or 0 in a plain C expression (Zephyr's idiom), so code
 * behind a disabled option still compiles and is checked, and the optimizer drops
 * it. Code that needs symbols from a file CMake leaves out (wg_sources_ifdef) must
 * use #ifdef instead.
 */
#ifndef WG_KCONFIG_H
#define WG_KCONFIG_H

#include "wg_config.h"

#define WG_ARG_PLACEHOLDER_1 0,
#define IS_ENABLED(option) WG_IS_ENABLED1(option)
#define WG_IS_ENABLED1(value) WG_IS_ENABLED2(WG_ARG_PLACEHOLDER_##value)
#define WG_IS_ENABLED2(arg1_or_junk) WG_IS_ENABLED3(arg1_or_junk 1, 0)
#define WG_IS_ENABLED3(ignored, val, ...) val

#endif
