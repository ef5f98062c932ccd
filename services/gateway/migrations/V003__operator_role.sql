-- Admin keys may carry the operator role: dead letters, the ledger check and the points jobs
-- through AdminService (see protos/loyalty/gateway/v1/gateway_service.proto, Role).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
  CHECK (role IN ('', 'viewer', 'editor', 'owner', 'operator'));
