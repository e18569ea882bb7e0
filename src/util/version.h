/* The version the programs print for --version: the build sets CC_VERSION
 * from CMakeLists.txt's project version. */
#ifndef CC_UTIL_VERSION_H
#define CC_UTIL_VERSION_H

#ifndef CC_VERSION
#define CC_VERSION "unknown"
#endif

#endif
