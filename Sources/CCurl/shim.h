#ifndef BUCKET_DELTA_CCURL_SHIM_H
#define BUCKET_DELTA_CCURL_SHIM_H
#include <curl/curl.h>
#endif
