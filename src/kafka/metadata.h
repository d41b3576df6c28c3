// Metadata (key 3): the messages are generated from schema/metadata_*.msg;
// here what the request means beyond its fields.
#pragma once

#include <cstdint>

#include "kafka/metadata_messages.h"

namespace nocopy::kafka {

// Whether the client asks for every topic: a null list (v1+), or an empty
// one at v0 (which cannot say null).
inline bool all_topics(const MetadataRequest& req, std::int16_t version) {
  if (!req.topics) return true;
  return version == 0 && req.topics->empty();
}

}  // namespace nocopy::kafka
