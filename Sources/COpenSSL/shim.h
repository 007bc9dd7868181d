#ifndef BUCKET_DELTA_COPENSSL_SHIM_H
#define BUCKET_DELTA_COPENSSL_SHIM_H
/* Only OpenSSL 3 APIs: a deprecated call fails to compile. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#endif
