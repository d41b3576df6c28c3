// Every request/response type nocopy speaks: kafka/request_body.h (generated)
// includes each API's header; ApiVersions' hand-written helpers come on top.
#pragma once

#include "kafka/api_versions.h"
#include "kafka/request_body.h"
