#include "cometchat.h"
#include "fmgr.h"
PG_FUNCTION_INFO_V1(cc_replay);
void cc_lifecycle_apply(CcEvent *ev) {}
Datum cc_replay(PG_FUNCTION_ARGS) { PG_RETURN_INT64(0); }
