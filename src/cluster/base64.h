// Base64 (RFC 4648, with padding) as etcd's JSON gateway uses for keys and
// values, over OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock.
#pragma once

#include <string>
#include <string_view>

namespace nocopy::cluster {

std::string base64_encode(std::string_view bytes);
// Throws std::invalid_argument on text that is not base64.
std::string base64_decode(std::string_view text);

}  // namespace nocopy::cluster
