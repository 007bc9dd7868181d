#ifndef BUCKET_DELTA_CCURLSHIMS_H
#define BUCKET_DELTA_CCURLSHIMS_H
#include <curl/curl.h>
#include <stddef.h>

/* Typed wrappers for curl's variadic functions, which Swift cannot call. */
typedef size_t (*bd_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

CURLcode bd_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode bd_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode bd_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode bd_easy_setopt_callback(CURL *handle, CURLoption option, bd_data_callback value);
CURLcode bd_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode bd_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

/* Caps glibc malloc's arenas (mallopt M_ARENA_MAX); returns 0 where that is not available. */
int bd_limit_malloc_arenas(int arenas);
#endif
