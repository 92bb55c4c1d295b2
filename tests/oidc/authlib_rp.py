#!/usr/bin/env python3
"""An independent OpenID Connect relying party (authlib, from PyPI) against
Portico's provider: discovery, the authorization code flow with PKCE (S256)
through the provider's sign-in and consent pages, the code exchanged with
authlib, the ID token verified with authlib against the published keys,
userinfo, refresh-token rotation with family revocation on reuse, and
RP-initiated logout.

A plain `requests.Session` plays the browser (keeps cookies, never follows
redirects). Prints `authlib rp: ok` and exits 0; on any failure prints the
reason to stderr and exits 1.

Used by tests/it/sso_authlib.rs; `.ci/run` makes the virtualenv
(target/authlib-venv) with authlib and requests.
"""

import argparse
import base64
import hashlib
import html
import json
import re
import sys
import time
import warnings
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken

# authlib.jose is deprecated in favour of joserfc in recent authlib, but kept
# working until 2.0: the warning is noise here. (authlib installs an "always"
# filter for its warnings on import, so this one must come after.)
warnings.filterwarnings("ignore", category=DeprecationWarning)

from authlib.jose import JsonWebKey, JsonWebToken  # noqa: E402

TIMEOUT = 20


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def step(msg):
    print(f"authlib rp: {msg}", flush=True)


def hidden_input(page, name):
    """The value of `<input ... name="NAME" ... value="...">`, unescaped."""
    for tag in re.findall(r"<input\b[^>]*>", page, flags=re.IGNORECASE):
        if re.search(r'\bname\s*=\s*"%s"' % re.escape(name), tag):
            m = re.search(r'\bvalue\s*=\s*"([^"]*)"', tag)
            if m:
                return html.unescape(m.group(1))
    return None


def describe(resp):
    body = resp.text
    if len(body) > 800:
        body = body[:800] + "..."
    return (
        f"HTTP {resp.status_code} {resp.request.method} {resp.url}\n"
        f"Location: {resp.headers.get('Location')}\n{body}"
    )


def json_of(resp):
    try:
        return resp.json()
    except ValueError:
        return None


def redirect_query(resp, redirect_uri):
    """The query of a 303 to the redirect URI."""
    check(
        resp.status_code in (302, 303),
        "expected a redirect to the client:\n" + describe(resp),
    )
    loc = resp.headers.get("Location", "")
    base, _, query = loc.partition("?")
    check(base == redirect_uri, f"redirected to {loc!r}, not to {redirect_uri!r}")
    return dict(parse_qsl(query, keep_blank_values=True))


def s256_half(value):
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def run(args):
    issuer = args.issuer.rstrip("/")
    browser = requests.Session()

    # a. Discovery.
    r = browser.get(
        f"{issuer}/.well-known/openid-configuration",
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    check(r.status_code == 200, "discovery:\n" + describe(r))
    meta = json_of(r)
    check(isinstance(meta, dict), "discovery is not a JSON object")
    check(
        meta.get("issuer") == args.issuer,
        f"discovery issuer {meta.get('issuer')!r} != {args.issuer!r}",
    )
    for k in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ):
        check(isinstance(meta.get(k), str), f"discovery lacks {k}")
    check(
        "S256" in meta.get("code_challenge_methods_supported", []),
        "discovery does not list S256",
    )
    step("discovery ok")

    # b. Authorization request, built by authlib.
    confidential = args.client_secret is not None
    client = OAuth2Session(
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_endpoint_auth_method="client_secret_basic" if confidential else "none",
        scope=args.scope,
        redirect_uri=args.redirect_uri,
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    state = generate_token(24)
    nonce = generate_token(24)
    auth_url, got_state = client.create_authorization_url(
        meta["authorization_endpoint"],
        state=state,
        nonce=nonce,
        code_verifier=verifier,
    )
    check(got_state == state, "authlib changed the state")
    check("code_challenge=" in auth_url, f"no code_challenge in {auth_url}")

    r = browser.get(auth_url, timeout=TIMEOUT, allow_redirects=False)
    check(r.status_code == 200, "authorization request:\n" + describe(r))
    csrf = hidden_input(r.text, "csrf")
    request = hidden_input(r.text, "request")
    check(csrf and request, "no csrf/request inputs on the sign-in page:\n" + describe(r))
    r = browser.post(
        f"{issuer}/signin",
        data={
            "csrf": csrf,
            "request": request,
            "username": args.username,
            "password": args.password,
        },
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    if r.status_code == 200:
        # The consent page (scopes beyond the name, not yet agreed to).
        csrf = hidden_input(r.text, "csrf")
        request = hidden_input(r.text, "request")
        check(
            csrf and request and re.search(r'name\s*=\s*"decision"', r.text),
            "sign-in answered 200 but not with a consent form:\n" + describe(r),
        )
        step("consent page shown; allowing")
        r = browser.post(
            f"{issuer}/consent",
            data={"csrf": csrf, "request": request, "decision": "allow"},
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    q = redirect_query(r, args.redirect_uri)
    check("error" not in q, f"authorization error: {q}")
    check(q.get("state") == state, f"state {q.get('state')!r} != {state!r}")
    check(q.get("iss") == args.issuer, f"iss {q.get('iss')!r} != {args.issuer!r}")
    code = q.get("code")
    check(code, f"no code in the redirect: {q}")
    step("authorization code received")

    # c. Code exchange, by authlib.
    token = client.fetch_token(
        meta["token_endpoint"],
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        timeout=TIMEOUT,
    )
    for k in ("access_token", "id_token", "refresh_token"):
        check(token.get(k), f"token response lacks {k}: {dict(token)}")
    check(
        str(token.get("token_type", "")).lower() == "bearer",
        f"token_type {token.get('token_type')!r}",
    )
    step("code exchanged")

    # d. The ID token, verified by authlib against the published keys.
    r = browser.get(meta["jwks_uri"], timeout=TIMEOUT, allow_redirects=False)
    check(r.status_code == 200, "jwks:\n" + describe(r))
    keys = JsonWebKey.import_key_set(r.json())
    jwt = JsonWebToken(["ES256"])
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": args.issuer},
            "aud": {"essential": True, "value": args.client_id},
            "exp": {"essential": True},
        },
        claims_params={
            "nonce": nonce,
            "client_id": args.client_id,
            "access_token": token["access_token"],
        },
    )
    claims.validate(leeway=30)
    # The same checks by hand, whatever authlib's version does.
    check(claims.header.get("alg") == "ES256", f"alg {claims.header.get('alg')!r}")
    check(claims["iss"] == args.issuer, f"ID token iss {claims['iss']!r}")
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    check(args.client_id in aud, f"ID token aud {claims['aud']!r}")
    check(claims["exp"] > time.time() - 30, f"ID token expired: exp {claims['exp']}")
    check(claims.get("nonce") == nonce, f"ID token nonce {claims.get('nonce')!r}")
    if "at_hash" in claims:
        check(
            claims["at_hash"] == s256_half(token["access_token"]),
            "at_hash does not match the access token",
        )
    sub = claims["sub"]
    check(isinstance(sub, str) and sub, f"ID token sub {sub!r}")
    step(f"ID token verified (sub {sub}, at_hash {'checked' if 'at_hash' in claims else 'absent'})")

    # e. Userinfo with the access token, through authlib's session.
    r = client.get(meta["userinfo_endpoint"], timeout=TIMEOUT, allow_redirects=False)
    check(r.status_code == 200, "userinfo:\n" + describe(r))
    info = json_of(r)
    check(isinstance(info, dict), "userinfo is not a JSON object")
    check(info.get("sub") == sub, f"userinfo sub {info.get('sub')!r} != {sub!r}")
    check(
        info.get("preferred_username") == args.username,
        f"userinfo preferred_username {info.get('preferred_username')!r}",
    )
    step("userinfo ok")

    # f. Refresh rotation, then reuse of the old token revokes the family.
    old_refresh = token["refresh_token"]
    new = client.refresh_token(
        meta["token_endpoint"], refresh_token=old_refresh, timeout=TIMEOUT
    )
    new_refresh = new.get("refresh_token")
    check(new_refresh, f"refresh answered no refresh token: {dict(new)}")
    check(new_refresh != old_refresh, "the refresh token was not rotated")
    check(new.get("access_token"), "refresh answered no access token")
    step("refresh token rotated")

    def raw_refresh(rt):
        data = {"grant_type": "refresh_token", "refresh_token": rt}
        auth = None
        if confidential:
            auth = (args.client_id, args.client_secret)
        else:
            data["client_id"] = args.client_id
        return requests.post(
            meta["token_endpoint"],
            data=data,
            auth=auth,
            timeout=TIMEOUT,
            allow_redirects=False,
        )

    for what, rt in (
        ("the old (already used) refresh token", old_refresh),
        ("the new refresh token after the family's revocation", new_refresh),
    ):
        r = raw_refresh(rt)
        body = json_of(r)
        check(
            r.status_code == 400
            and isinstance(body, dict)
            and body.get("error") == "invalid_grant",
            f"{what}: expected 400 invalid_grant:\n" + describe(r),
        )
    step("reused refresh token refused, family revoked")

    # g. RP-initiated logout.
    if args.post_logout_redirect_uri:
        end = meta.get("end_session_endpoint")
        check(isinstance(end, str), "discovery lacks end_session_endpoint")
        sep = "&" if "?" in end else "?"
        url = end + sep + urlencode(
            {
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": args.post_logout_redirect_uri,
                "state": "bye",
            }
        )
        r = browser.get(url, timeout=TIMEOUT, allow_redirects=False)
        want = f"{args.post_logout_redirect_uri}?state=bye"
        check(
            r.status_code == 303 and r.headers.get("Location") == want,
            f"logout: expected 303 to {want}:\n" + describe(r),
        )
        step("logout redirected back")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--issuer", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret")
    p.add_argument("--redirect-uri", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--post-logout-redirect-uri")
    p.add_argument("--scope", default="openid profile")
    args = p.parse_args()
    try:
        run(args)
    except Failure as e:
        print(f"authlib rp: FAILED: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # authlib's OAuthError, JOSE errors, network
        detail = getattr(e, "description", None) or ""
        print(
            f"authlib rp: FAILED: {type(e).__name__}: {e} {detail}".rstrip(),
            file=sys.stderr,
        )
        return 1
    print("authlib rp: ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
