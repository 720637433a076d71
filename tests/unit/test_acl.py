"""One reading of a client JWT's acl for the sandbox's REST API, its Client SDK side and the
token doctor."""

from vcall.acl import grants


def test_a_trailing_double_star_also_grants_the_path_itself():
    acl = {"paths": {"/*/users/**": {}}}
    assert grants(acl, "/v1/users")
    assert grants(acl, "/v1/users/USR-1/conversations")
    assert not grants(acl, "/v1/usersx")


def test_a_rule_may_narrow_the_methods():
    acl = {"paths": {"/*/sessions/**": {"methods": ["GET"]}}}
    assert grants(acl, "/v0.2/sessions/S-1", "get")
    assert not grants(acl, "/v0.2/sessions/S-1", "PUT")


def test_no_acl_is_not_limited_but_a_malformed_one_grants_nothing():
    assert grants(None, "/v0.3/conversations/CON-1")
    assert not grants({"paths": ["/*/users/**"]}, "/v1/users")
    assert not grants("everything", "/v1/users")
