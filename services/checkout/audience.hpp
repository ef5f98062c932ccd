// A campaign's audience, inline or saved as a segment (docs/campaigns.md): its field checks,
// shared by PutCampaign and PutSegment (segments.cpp).
#pragma once

#include <string>

#include "loyalty/common/errors.hpp"
#include "loyalty/gateway/v1/gateway_service.pb.h"

namespace loyalty::checkout {

// Checks every field, named under `prefix` ("definition.audience.").
void CheckAudience(common::Validator& v, const gateway::v1::CampaignAudience& audience,
                   const std::string& prefix);
// Whether it sets any filter (none: every customer).
bool HasFilter(const gateway::v1::CampaignAudience& audience);
// NOT_FOUND SEGMENT_NOT_FOUND naming `field`.
common::ApiError SegmentNotFound(const std::string& segment_id, const std::string& field);

}  // namespace loyalty::checkout
