/* Placeholder: being written (lib/alx_status.h). */
#include "alx_status.h"
