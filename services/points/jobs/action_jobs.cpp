// Birthdays: per store that gives birthday points, the store's local date at the as-of time
// (29 February birthdays on 28 February in other years: BirthdaysOn), the customers born on it
// from the customers service (an index probe there), one transaction per customer keyed by
// (customer, local year): a second run, or a birthday moved to a later day of the same year,
// earns nothing.
// First orders: those whose return window ended by the as-of time and were neither refunded nor
// cancelled (those were voided by their events), one transaction each: the first-purchase points
// and, if the customer was referred, the referral points for both, within the referrer's cap.
#include "jobs/action_jobs.hpp"

#include <google/protobuf/util/time_util.h>

#include "ledger/ledger.hpp"
#include "ledger/pg_ledger_store.hpp"
#include "lot_key.hpp"
#include "loyalty/common/calendar.hpp"
#include "loyalty/common/time.hpp"
#include "program/actions.hpp"
#include "program/settings.hpp"

namespace loyalty::points {

using common::CallContext;
using google::protobuf::util::TimeUtil;

namespace {
constexpr int kPage = 500;

common::Deadline StepDeadline() { return common::Clock::now() + std::chrono::seconds(60); }

int64_t AsOf(const v1::RunJobRequest& request) {
  return request.has_as_of() ? TimeUtil::TimestampToMicroseconds(request.as_of())
                             : common::NowMicros();
}
}  // namespace

bool ActionJobs::RewardBirthday(const std::string& store_id, const std::string& customer_id,
                                int32_t year, int64_t as_of_us) {
  return db_.Write(StepDeadline(), [&](pqxx::transaction_base& tx) {
    ActionCredit credit;
    credit.lot_id = LotId(kActionLot, {"birthday", customer_id, std::to_string(year)});
    if (actions_.Rewarded(tx, store_id, credit.lot_id)) return false;  // the usual case: no lock
    const auto settings = RequireSettings(store_, tx, store_id);
    credit.action = "birthday";
    credit.points = settings.actions().birthday_points();
    credit.reason = "birthday " + std::to_string(year);
    credit.occurred_us = as_of_us;
    if (credit.points == 0) return false;
    PgLedgerStore rows(tx, store_, store_id);
    CustomerLedger ledger(rows, customer_id);
    if (!CreditAction(tx, store_, actions_, store_id, settings, ledger, credit)) return false;
    ledger.Save();
    return true;
  });
}

int64_t ActionJobs::BirthdaysDue(const CallContext& call, const std::string& store_id,
                                 int64_t as_of_us) {
  struct StoreDay {
    std::string store_id;
    LocalDate today;
  };
  std::vector<StoreDay> stores;
  db_.Read(StepDeadline(), [&](pqxx::transaction_base& tx) {
    for (const auto& [id, settings] : store_.CurrentSettings(tx, store_id)) {
      if (settings.actions().birthday_points() <= 0) continue;
      stores.push_back({id, common::LocalDateAt(tx, as_of_us, settings.time_zone())});
    }
    return 0;
  });
  int64_t done = 0;
  for (const auto& store : stores) {
    for (const auto& born : BirthdaysOn(store.today)) {
      customers::v1::ListCustomersRequest request;
      request.set_store_id(store.store_id);
      request.set_page_size(kPage);
      request.set_birthday_month(born.month);
      request.set_birthday_day(born.day);
      do {
        customers::v1::ListCustomersResponse page;
        const auto status =
            ctx_.customers->ListCustomers(common::DownstreamContext(call).get(), request, &page);
        if (!status.ok()) common::ThrowDownstream(status, "customers");
        for (const auto& customer : page.customers()) {
          if (customer.erased()) continue;
          if (RewardBirthday(store.store_id, customer.customer_id(), store.today.year, as_of_us)) {
            ++done;
          }
        }
        request.set_page_token(page.next_page_token());
      } while (!request.page_token().empty());
    }
  }
  return done;
}

bool ActionJobs::RewardFirstOrder(const DueFirstOrder& due, int64_t as_of_us) {
  return db_.Write(StepDeadline(), [&](pqxx::transaction_base& tx) {
    const std::string& store_id = due.store_id;
    const std::string& referee = due.customer_id;
    const auto settings = RequireSettings(store_, tx, store_id);
    const auto& a = settings.actions();
    const auto referrer = actions_.ReferrerOf(tx, store_id, referee);
    // Balances are locked in customer id order (two customers in one transaction).
    PgLedgerStore rows(tx, store_, store_id);
    std::optional<CustomerLedger> first;
    std::optional<CustomerLedger> second;
    if (referrer && *referrer < referee) first.emplace(rows, *referrer);
    second.emplace(rows, referee);
    if (referrer && *referrer > referee) first.emplace(rows, *referrer);
    CustomerLedger& referee_ledger = *second;
    // Re-checked under the referee's lock: a referral recorded meanwhile (RecordAction holds the
    // same lock) waits for the next run; a refund applied meanwhile voided the order; another
    // run rewarded it.
    if (actions_.ReferrerOf(tx, store_id, referee) != referrer) return false;
    const auto order_id = actions_.LockDueFirstOrder(tx, store_id, referee, as_of_us);
    if (!order_id) return false;
    ActionCredit credit;
    credit.occurred_us = as_of_us;
    if (a.first_purchase_points() > 0) {
      credit.lot_id = LotId(kActionLot, {"first_purchase", referee});
      credit.action = "first_purchase";
      credit.points = a.first_purchase_points();
      credit.reason = "first purchase, order " + *order_id;
      CreditAction(tx, store_, actions_, store_id, settings, referee_ledger, credit);
    }
    if (referrer) {
      const auto today = common::LocalDateAt(tx, as_of_us, settings.time_zone());
      const auto period = PeriodOf(today, a.referral_period());
      const int64_t rewarded =
          actions_.ReferralsRewarded(tx, store_id, *referrer, period, settings.time_zone());
      if (UnderCap(rewarded, a.referral_cap())) {
        CustomerLedger& referrer_ledger = *first;
        if (a.referrer_points() > 0) {
          credit.lot_id = LotId(kActionLot, {"referrer", referee});
          credit.action = "referrer";
          credit.points = a.referrer_points();
          credit.reason = "referral of " + referee;
          CreditAction(tx, store_, actions_, store_id, settings, referrer_ledger, credit);
        }
        if (a.referee_points() > 0) {
          credit.lot_id = LotId(kActionLot, {"referee", referee});
          credit.action = "referee";
          credit.points = a.referee_points();
          credit.reason = "referred by " + *referrer;
          CreditAction(tx, store_, actions_, store_id, settings, referee_ledger, credit);
        }
        actions_.MarkReferralRewarded(tx, store_id, referee, as_of_us);
        referrer_ledger.Save();
      } else {
        store_.AppendEvent(tx, store_id, "referral.capped", *referrer, *order_id, 0,
                           {{"referee_id", referee}, {"cap", a.referral_cap()}});
      }
    }
    referee_ledger.Save();
    actions_.MarkFirstOrderRewarded(tx, store_id, referee);
    return true;
  });
}

int64_t ActionJobs::FirstOrdersDue(const std::string& store_id, int64_t as_of_us) {
  int64_t done = 0;
  for (;;) {
    const auto due = db_.Read(StepDeadline(), [&](pqxx::transaction_base& tx) {
      return actions_.FirstOrdersDue(tx, store_id, as_of_us, kPage);
    });
    int64_t changed = 0;
    for (const auto& item : due) changed += RewardFirstOrder(item, as_of_us) ? 1 : 0;
    done += changed;
    // Each one done leaves the due set; a full page that changed nothing was done by another run.
    if (static_cast<int>(due.size()) < kPage || changed == 0) return done;
  }
}

void ActionJobs::RunBirthdayJob(const CallContext& call, const v1::RunJobRequest* request,
                                v1::RunJobResponse* response) {
  response->set_processed(BirthdaysDue(call, request->store_id(), AsOf(*request)));
}

void ActionJobs::RunFirstOrderJob(const CallContext& /*call*/, const v1::RunJobRequest* request,
                                  v1::RunJobResponse* response) {
  response->set_processed(FirstOrdersDue(request->store_id(), AsOf(*request)));
}

}  // namespace loyalty::points
