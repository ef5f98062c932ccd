#include "customers_service.hpp"

#include <google/protobuf/util/time_util.h>

#include <chrono>

#include "customer_rules.hpp"
#include "loyalty/common/hex.hpp"
#include "loyalty/common/time.hpp"

namespace loyalty::customers {

using common::ApiError;
using common::CallContext;
using common::Validator;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

int CurrentYear() {
  const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  return static_cast<int>(std::chrono::year_month_day(today).year());
}

ApiError NotFound(const std::string& what) {
  return ApiError(grpc::StatusCode::NOT_FOUND, "CUSTOMER_NOT_FOUND", what + " not found");
}

}  // namespace

CustomersService::CustomersService(common::ServiceHost& host)
    : host_(host), db_(host.db()), store_(host.db()), idempotency_(host.db(), "customers") {}

std::string CustomersService::NextReferralCode() {
  std::lock_guard lock(rng_mutex_);
  return NewReferralCode(rng_);
}

v1::Customer CustomersService::Require(pqxx::transaction_base& tx, const std::string& store_id,
                                       const std::string& customer_id, bool for_update) const {
  auto customer = store_.FindById(tx, store_id, customer_id, for_update);
  if (!customer) throw NotFound("customer " + customer_id);
  return *customer;
}

grpc::ServerUnaryReactor* CustomersService::RegisterCustomer(
    grpc::CallbackServerContext* context, const v1::RegisterCustomerRequest* request,
    v1::RegisterCustomerResponse* response) {
  return host_.Serve(context, "RegisterCustomer", request->store_id(), [=, this](CallContext& call) {
    NewCustomer c;
    c.store_id = request->store_id();
    c.email = NormalizeEmail(request->email());
    c.name = request->name();
    if (request->has_birthday()) c.birthday = request->birthday();
    c.marketing_consent = request->marketing_consent();
    c.tags.assign(request->tags().begin(), request->tags().end());
    c.referred_by_code = NormalizeReferralCode(request->referred_by_code());

    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.RequireId(request->request_id(), "request_id");
    CheckEmail(v, c.email, "email");
    CheckName(v, c.name, "name");
    if (c.birthday) CheckBirthday(v, *c.birthday, CurrentYear(), "birthday");
    CheckTags(v, c.tags, "tags");
    v.ThrowIfInvalid();

    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      if (idempotency_.Begin(tx, c.store_id, "RegisterCustomer", request->request_id(), *request,
                             response)) {
        return;
      }
      if (!c.referred_by_code.empty() && !store_.OwnerOfCode(tx, c.store_id, c.referred_by_code)) {
        throw common::InvalidField("referred_by_code", "no customer of this store has this code");
      }
      std::optional<v1::Customer> created;
      try {
        // A clash of random codes is rare; draw again rather than fail.
        for (int attempt = 0; !created && attempt < 5; ++attempt) {
          c.referral_code = NextReferralCode();
          created = store_.Insert(tx, c);
        }
      } catch (const pqxx::unique_violation&) {
        throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "EMAIL_ALREADY_REGISTERED",
                       "a customer with this email is already registered in the store",
                       {{"email", "is already registered"}});
      }
      if (!created) throw ApiError(grpc::StatusCode::ABORTED, "RETRY", "retry the request");
      *response->mutable_customer() = *created;
      idempotency_.Finish(tx, c.store_id, "RegisterCustomer", request->request_id(), *response);
    });
  });
}

grpc::ServerUnaryReactor* CustomersService::GetCustomer(grpc::CallbackServerContext* context,
                                                        const v1::GetCustomerRequest* request,
                                                        v1::GetCustomerResponse* response) {
  return host_.Serve(context, "GetCustomer", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.Check(request->key_case() != v1::GetCustomerRequest::KEY_NOT_SET, "customer_id",
            "customer_id or email is required");
    v.ThrowIfInvalid();
    auto found = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return request->has_email()
                 ? store_.FindByEmail(tx, request->store_id(), NormalizeEmail(request->email()))
                 : store_.FindById(tx, request->store_id(), request->customer_id());
    });
    if (!found) throw NotFound("customer");
    *response->mutable_customer() = *found;
  });
}

grpc::ServerUnaryReactor* CustomersService::UpdateCustomer(grpc::CallbackServerContext* context,
                                                           const v1::UpdateCustomerRequest* request,
                                                           v1::UpdateCustomerResponse* response) {
  return host_.Serve(context, "UpdateCustomer", request->store_id(), [=, this](CallContext& call) {
    const auto& in = request->customer();
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.RequireId(request->request_id(), "request_id");
    v.RequireId(in.customer_id(), "customer.customer_id");
    v.Check(request->update_mask().paths_size() > 0, "update_mask", "name at least one field");
    for (const auto& path : request->update_mask().paths()) {
      if (path == "email") {
        CheckEmail(v, NormalizeEmail(in.email()), "customer.email");
      } else if (path == "name") {
        CheckName(v, in.name(), "customer.name");
      } else if (path == "birthday") {
        if (in.has_birthday()) CheckBirthday(v, in.birthday(), CurrentYear(), "customer.birthday");
      } else if (path == "tags") {
        CheckTags(v, {in.tags().begin(), in.tags().end()}, "customer.tags");
      } else if (path != "marketing_consent") {
        v.Check(false, "update_mask", "\"" + path + "\" cannot be updated");
      }
    }
    v.ThrowIfInvalid();

    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      if (idempotency_.Begin(tx, request->store_id(), "UpdateCustomer", request->request_id(),
                             *request, response)) {
        return;
      }
      v1::Customer merged = Require(tx, request->store_id(), in.customer_id(), true);
      if (merged.erased()) {
        throw ApiError(grpc::StatusCode::FAILED_PRECONDITION, "CUSTOMER_ERASED",
                       "the customer's data was erased on request");
      }
      for (const auto& path : request->update_mask().paths()) {
        if (path == "email") merged.set_email(NormalizeEmail(in.email()));
        if (path == "name") merged.set_name(in.name());
        if (path == "birthday") {
          if (in.has_birthday()) {
            *merged.mutable_birthday() = in.birthday();
          } else {
            merged.clear_birthday();
          }
        }
        if (path == "marketing_consent") merged.set_marketing_consent(in.marketing_consent());
        if (path == "tags") *merged.mutable_tags() = in.tags();
      }
      try {
        *response->mutable_customer() = store_.Update(tx, merged);
      } catch (const pqxx::unique_violation&) {
        throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "EMAIL_ALREADY_REGISTERED",
                       "another customer of the store has this email",
                       {{"customer.email", "is already registered"}});
      }
      idempotency_.Finish(tx, request->store_id(), "UpdateCustomer", request->request_id(),
                          *response);
    });
  });
}

grpc::ServerUnaryReactor* CustomersService::ListCustomers(grpc::CallbackServerContext* context,
                                                          const v1::ListCustomersRequest* request,
                                                          v1::ListCustomersResponse* response) {
  return host_.Serve(context, "ListCustomers", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.Check(request->page_size() >= 0 && request->page_size() <= kMaxPageSize, "page_size",
            "must be 0 to " + std::to_string(kMaxPageSize));
    const auto after = common::HexDecode(request->page_token());
    v.Check(after.has_value(), "page_token", "is not a token this service issued");
    ListFilter filter;
    filter.tag = request->tag();
    filter.born_month = request->birthday_month();
    filter.born_day = request->birthday_day();
    if (filter.born_month != 0 || filter.born_day != 0) {
      // Any day a birthday can be on: 29 February included (the year may be unknown).
      v.Check(filter.born_month >= 1 && filter.born_month <= 12, "birthday_month",
              "must be 1 to 12");
      v.Check(filter.born_day >= 1 && filter.born_day <= 31, "birthday_day", "must be 1 to 31");
    }
    const auto micros_of = [&](const google::protobuf::Timestamp& t, const char* field,
                               std::optional<int64_t>& out) {
      if (!common::CheckTime(v, t, field)) return;
      out = TimeUtil::TimestampToMicroseconds(t);
    };
    if (request->has_signed_up_from()) {
      micros_of(request->signed_up_from(), "signed_up_from", filter.signed_up_from_us);
    }
    if (request->has_signed_up_before()) {
      micros_of(request->signed_up_before(), "signed_up_before", filter.signed_up_before_us);
    }
    v.ThrowIfInvalid();
    const int size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
    // One more than asked tells whether another page exists.
    auto page = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.List(tx, request->store_id(), *after, filter, size + 1);
    });
    const bool more = static_cast<int>(page.size()) > size;
    if (more) {
      page.pop_back();
      response->set_next_page_token(common::HexEncode(page.back().customer_id()));
    }
    for (auto& c : page) *response->add_customers() = std::move(c);
  });
}

grpc::ServerUnaryReactor* CustomersService::CountCustomers(grpc::CallbackServerContext* context,
                                                           const v1::CountCustomersRequest* request,
                                                           v1::CountCustomersResponse* response) {
  return host_.Serve(context, "CountCustomers", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.ThrowIfInvalid();
    response->set_customers(db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.Count(tx, request->store_id());
    }));
  });
}

grpc::ServerUnaryReactor* CustomersService::FilterConsenting(
    grpc::CallbackServerContext* context, const v1::FilterConsentingRequest* request,
    v1::FilterConsentingResponse* response) {
  return host_.Serve(context, "FilterConsenting", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.Check(request->customer_ids_size() >= 1 && request->customer_ids_size() <= 1000,
            "customer_ids", "must be 1 to 1,000 ids");
    for (int i = 0; i < request->customer_ids_size() && i < 1000; ++i) {
      v.RequireId(request->customer_ids(i), "customer_ids[" + std::to_string(i) + "]");
    }
    v.ThrowIfInvalid();
    const std::vector<std::string> ids(request->customer_ids().begin(),
                                       request->customer_ids().end());
    const auto consenting = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.Consenting(tx, request->store_id(), ids);
    });
    for (const auto& id : ids) {
      if (consenting.count(id)) response->add_customer_ids(id);
    }
  });
}

grpc::ServerUnaryReactor* CustomersService::LookupReferralCode(
    grpc::CallbackServerContext* context, const v1::LookupReferralCodeRequest* request,
    v1::LookupReferralCodeResponse* response) {
  return host_.Serve(context, "LookupReferralCode", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.Check(!request->referral_code().empty(), "referral_code", "is required");
    v.ThrowIfInvalid();
    auto owner = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return store_.OwnerOfCode(tx, request->store_id(),
                                NormalizeReferralCode(request->referral_code()));
    });
    if (!owner) {
      throw ApiError(grpc::StatusCode::NOT_FOUND, "REFERRAL_CODE_NOT_FOUND",
                     "no customer of this store has this code");
    }
    response->set_customer_id(*owner);
  });
}

grpc::ServerUnaryReactor* CustomersService::EraseCustomer(grpc::CallbackServerContext* context,
                                                          const v1::EraseCustomerRequest* request,
                                                          v1::EraseCustomerResponse* response) {
  return host_.Serve(context, "EraseCustomer", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.RequireId(request->request_id(), "request_id");
    v.RequireId(request->customer_id(), "customer_id");
    v.ThrowIfInvalid();
    db_.Write(call.deadline, [&](pqxx::transaction_base& tx) {
      if (idempotency_.Begin(tx, request->store_id(), "EraseCustomer", request->request_id(),
                             *request, response)) {
        return;
      }
      Require(tx, request->store_id(), request->customer_id(), true);
      *response->mutable_customer() = store_.Erase(tx, request->store_id(), request->customer_id());
      idempotency_.Finish(tx, request->store_id(), "EraseCustomer", request->request_id(),
                          *response);
    });
  });
}

grpc::ServerUnaryReactor* CustomersService::ExportCustomer(grpc::CallbackServerContext* context,
                                                           const v1::ExportCustomerRequest* request,
                                                           v1::ExportCustomerResponse* response) {
  return host_.Serve(context, "ExportCustomer", request->store_id(), [=, this](CallContext& call) {
    Validator v;
    v.RequireId(request->store_id(), "store_id");
    v.RequireId(request->customer_id(), "customer_id");
    v.ThrowIfInvalid();
    *response->mutable_customer() = db_.Read(call.deadline, [&](pqxx::transaction_base& tx) {
      return Require(tx, request->store_id(), request->customer_id());
    });
  });
}

}  // namespace loyalty::customers
