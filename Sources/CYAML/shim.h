#ifndef BUCKET_DELTA_CYAML_SHIM_H
#define BUCKET_DELTA_CYAML_SHIM_H
#include <yaml.h>
#endif
