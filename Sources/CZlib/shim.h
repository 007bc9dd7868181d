#ifndef BUCKET_DELTA_CZLIB_SHIM_H
#define BUCKET_DELTA_CZLIB_SHIM_H
#include <zlib.h>
#endif
