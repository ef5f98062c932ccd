#include "quote_flow.hpp"

#include "loyalty/common/customer_check.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::checkout {

using common::RunStep;
using common::ThrowDownstream;

namespace {

// The most lines recommendations.RecommendForCart accepts.
constexpr int kMaxSuggestionCartLines = 100;

bool EmptyBalance(const points::v1::Balance& b) {
  return b.pending() == 0 && b.available() == 0 && b.held() == 0 && b.debt() == 0;
}

}  // namespace

common::ApiError CustomerNotFound(const std::string& customer_id) {
  return common::CustomerNotFound(customer_id, "cart.customer_id");
}

QuoteFlow::QuoteFlow(Stubs stubs, const common::CallContext& call,
                     const v1::QuoteCartRequest& request,
                     std::shared_ptr<const points::v1::GetSettingsResponse> program,
                     gateway::v1::QuoteCartResponse* response, common::Done done)
    : stubs_(stubs),
      call_(call),
      request_(request),
      program_(std::move(program)),
      response_(response),
      done_(std::move(done)) {}

void QuoteFlow::Start(Stubs stubs, const common::CallContext& call,
                      const v1::QuoteCartRequest& request,
                      std::shared_ptr<const points::v1::GetSettingsResponse> program,
                      std::optional<CodeState> code, bool renews,
                      gateway::v1::QuoteCartResponse* response, common::Done done) {
  std::shared_ptr<QuoteFlow> flow(
      new QuoteFlow(stubs, call, request, std::move(program), response, std::move(done)));
  const auto& cart = flow->cart();
  flow->reward_ = ChosenReward(cart, flow->program_->rewards());  // before any call
  flow->code_ = std::move(code);
  flow->renewal_bonus_ = RenewalBonus(flow->settings(), renews);
  if (!cart.discount_code().empty()) flow->CheckCode();
  if (cart.points_to_redeem() > 0) {
    flow->FetchBalance();  // validation made sure there is a customer
  } else {
    flow->FetchEarnAndSuggestions(!cart.customer_id().empty());
  }
}

void QuoteFlow::FetchBalance() {
  balance_context_ = common::DownstreamContext(call_);
  balance_request_.set_store_id(request_.store().store_id());
  balance_request_.set_customer_id(cart().customer_id());
  stubs_.points.async()->GetBalance(
      balance_context_.get(), &balance_request_, &balance_response_,
      [self = shared_from_this()](grpc::Status status) {
        RunStep(self->done_, [&] {
          if (!status.ok()) ThrowDownstream(status, "points");
          self->available_ = self->balance_response_.balance().available();
          self->empty_balance_ = EmptyBalance(self->balance_response_.balance());
          self->FetchEarnAndSuggestions(false);
        });
      });
}

void QuoteFlow::FetchEarnAndSuggestions(bool with_balance) {
  with_balance_ = with_balance;
  const std::string& store_id = request_.store().store_id();
  // The nets: with no points paid they do not depend on the balance, nor on the tier, which
  // only changes the shipping (Answer prices again when the balance or a free-shipping tier
  // arrives with the earnings).
  quote_ = PriceCart(cart(), settings(), available_, false, reward_, usable_code_);
  const auto& quote = quote_;

  earn_context_ = common::DownstreamContext(call_);
  earn_request_.set_store_id(store_id);
  earn_request_.set_customer_id(cart().customer_id());
  earn_request_.set_include_balance(with_balance);
  for (int i = 0; i < cart().lines_size(); ++i) {
    const auto& l = cart().lines(i);
    auto* line = earn_request_.add_lines();
    line->set_line_id(l.line_id());
    line->set_sku(l.sku());
    line->set_category(l.category());
    line->set_net_minor(quote.priced.lines[static_cast<size_t>(i)].net);
  }

  // Suggestions have a budget of their own: a slow service only makes the quote partial.
  // DownstreamContext keeps a margin before the caller's deadline, so a caller with a short
  // deadline gets the partial quote rather than DEADLINE_EXCEEDED.
  recs_context_ = common::DownstreamContext(call_);
  recs_context_->set_deadline(std::min(recs_context_->deadline(),
                                       common::Clock::now() + stubs_.recommendations_timeout));
  recs_request_.set_store_id(store_id);
  for (const auto& l : cart().lines()) {
    // Suggestions come from the first 100 lines rather than the quote being partial.
    if (recs_request_.lines_size() == kMaxSuggestionCartLines) break;
    auto* line = recs_request_.add_lines();
    line->set_sku(l.sku());
    line->set_quantity(l.quantity());
  }
  recs_request_.set_customer_id(cart().customer_id());
  recs_request_.set_free_shipping_missing_minor(quote.priced.free_shipping_gap);
  recs_request_.set_limit(request_.quote().suggestion_limit());

  legs_ = 2;
  auto self = shared_from_this();
  stubs_.points.async()->PreviewEarn(earn_context_.get(), &earn_request_, &earn_response_,
                                     [self](grpc::Status status) {
                                       self->earn_status_ = std::move(status);
                                       self->LegDone();
                                     });
  stubs_.recommendations.async()->RecommendForCart(recs_context_.get(), &recs_request_,
                                                   &recs_response_, [self](grpc::Status status) {
                                                     self->recs_status_ = std::move(status);
                                                     self->LegDone();
                                                   });
}

void QuoteFlow::LegDone() {
  if (legs_.fetch_sub(1) != 1) return;  // the last answer goes on
  RunStep(done_, [&] { Answer(); });
}

void QuoteFlow::Answer() {
  if (!earn_status_.ok()) ThrowDownstream(earn_status_, "points");
  // The tier comes with the earnings (the multiplier is already in their points).
  tier_free_shipping_ = TierShipsFree(earn_response_.tier());
  if (with_balance_) {
    available_ = earn_response_.balance().available();
    empty_balance_ = EmptyBalance(earn_response_.balance());
  }
  if (with_balance_ || tier_free_shipping_) {
    // The most points it may use; shipping free by tier.
    quote_ = PriceCart(cart(), settings(), available_, tier_free_shipping_, reward_, usable_code_);
  }
  // The ledger answers zeros for anyone: only an empty balance needs the customers check.
  if (!cart().customer_id().empty() && empty_balance_) return CheckCustomerThenAnswer();
  Fill();
  done_(grpc::Status::OK);
}

void QuoteFlow::CheckCustomerThenAnswer() {
  customer_context_ = common::DownstreamContext(call_);
  customer_request_.set_store_id(request_.store().store_id());
  customer_request_.set_customer_id(cart().customer_id());
  stubs_.customers.async()->GetCustomer(
      customer_context_.get(), &customer_request_, &customer_response_,
      [self = shared_from_this()](grpc::Status status) {
        RunStep(self->done_, [&] {
          if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
            throw CustomerNotFound(self->cart().customer_id());
          }
          if (!status.ok()) ThrowDownstream(status, "customers");
          self->Fill();
          self->done_(grpc::Status::OK);
        });
      });
}

void QuoteFlow::Fill() {
  // After the customers check: an unknown customer is CUSTOMER_NOT_FOUND, not short of points.
  if (reward_ != nullptr) CheckChosenReward(*reward_, earn_response_.tier(), available_);
  FillTotals(quote_, request_.store().currency_code(), available_, response_);
  response_->set_points_to_earn(earn_response_.total_points() + renewal_bonus_);
  response_->set_renewal_bonus_points(renewal_bonus_);
  *response_->mutable_line_points() = earn_response_.lines();
  response_->set_rule_version(earn_response_.rule_version());
  response_->set_free_shipping_threshold_minor(settings().free_shipping_threshold_minor());
  if (!cart().customer_id().empty()) FillRewards();
  if (usable_code_ != nullptr) FillCode();
  if (earn_response_.has_tier()) {
    *response_->mutable_tier() = earn_response_.tier();
    *response_->mutable_progress_after_cart() = earn_response_.progress_after_cart();
  }
  if (recs_status_.ok()) {
    // Asked with the gap before the tier was known: a tier that ships free leaves none to close.
    if (!tier_free_shipping_) {
      *response_->mutable_free_shipping_gap_closers() = recs_response_.free_shipping_gap_closers();
    }
    *response_->mutable_cross_sell() = recs_response_.cross_sell();
    *response_->mutable_upsell() = recs_response_.upsell();
    *response_->mutable_gift_wrap() = recs_response_.gift_wrap();
  } else {
    response_->set_partial(true);
    response_->add_missing_parts("recommendations");
    stubs_.metrics.RecordDegraded("QuoteCart", "recommendations");
  }
}

void QuoteFlow::FillRewards() {
  // What each reward would take off is measured on this cart without a reward.
  // (The code's part is left out of these figures: docs/codes.md.)
  const Quote without = reward_ == nullptr && usable_code_ == nullptr
                            ? quote_
                            : PriceCart(cart(), settings(), available_, tier_free_shipping_);
  for (auto& offer :
       RewardOffers(program_->rewards(), cart(), without, earn_response_.tier(), available_)) {
    *response_->add_rewards() = std::move(offer);
  }
  if (reward_ != nullptr) {
    *response_->mutable_reward() = OfferOf(*reward_, common::pricing::CartOf(cart()), without);
  }
}

void QuoteFlow::CheckCode() {
  auto* result = response_->mutable_code();
  result->set_code(CanonicalCode(cart().discount_code()));
  if (!code_) {
    const auto error = CodeNotFound(result->code());
    result->set_refusal_reason(error.reason());
    result->set_refusal_message(error.what());
    return;
  }
  const auto refusal = CheckCodeUsable(*code_, cart().customer_id(), CodeMerchandise(cart()),
                                       common::NowMicros());
  if (refusal != CodeRefusal::kNone) {
    auto text = RefusalTextOf(refusal, *code_);
    result->set_refusal_reason(text.reason);
    result->set_refusal_message(std::move(text.message));
    return;
  }
  usable_code_ = &*code_;
}

void QuoteFlow::FillCode() {
  auto* result = response_->mutable_code();
  result->set_applied(true);
  result->set_merchandise_off_minor(quote_.code.merchandise_off);
  if (quote_.code.free_shipping) {
    // What it waives: the shipping this cart would pay without the code.
    const auto without = PriceCart(cart(), settings(), available_, tier_free_shipping_, reward_);
    result->set_shipping_off_minor(without.priced.shipping);
  }
}

}  // namespace loyalty::checkout
