#include "CCurlShims.h"

_Static_assert(sizeof(long) == 8, "64-bit long expected");

CURLcode bd_easy_setopt_long(CURL *handle, CURLoption option, long value) {
  return curl_easy_setopt(handle, option, value);
}
CURLcode bd_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
  return curl_easy_setopt(handle, option, value);
}
CURLcode bd_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
  return curl_easy_setopt(handle, option, value);
}
CURLcode bd_easy_setopt_callback(CURL *handle, CURLoption option, bd_data_callback value) {
  return curl_easy_setopt(handle, option, value);
}
CURLcode bd_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
  return curl_easy_getinfo(handle, info, value);
}
CURLcode bd_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
  return curl_easy_getinfo(handle, info, value);
}

#if defined(__GLIBC__)
#include <malloc.h>
int bd_limit_malloc_arenas(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
#else
int bd_limit_malloc_arenas(int arenas) { (void)arenas; return 0; }
#endif
