// The ledger room, verification and reports: VerifyLedger re-derives every balance from the
// transfers, LiabilityReport sums the store's accounts, ListEvents reads the store's event log.
#pragma once

#include "points_context.hpp"

namespace loyalty::points {

class Verification {
 public:
  explicit Verification(PointsContext& ctx) : db_(ctx.db), store_(ctx.store) {}

  void VerifyLedger(const common::CallContext& call, const v1::VerifyLedgerRequest* request,
                    v1::VerifyLedgerResponse* response);
  void LiabilityReport(const common::CallContext& call, const v1::LiabilityReportRequest* request,
                       v1::LiabilityReportResponse* response);
  void ListEvents(const common::CallContext& call, const v1::ListEventsRequest* request,
                  v1::ListEventsResponse* response);

 private:
  common::Database& db_;
  const PointsStore& store_;
};

}  // namespace loyalty::points
