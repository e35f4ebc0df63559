"""Shared set-up of the end-to-end tests: paths from the environment CTest
sets, fluxguard.conf writing, and DNS answer checks."""

import os
import time
from pathlib import Path

import dns.edns
import dns.rcode

from fluxtest import FluxTestEnv, query

MODULE = os.environ["FLUXGUARD_MODULE"]
UNBOUND = os.environ["FLUXGUARD_UNBOUND"]
FIXTURES = Path(os.environ["FLUXGUARD_FIXTURES"])
EDE_BLOCKED = 15


def start_resolver(workdir_conf_text, **kwargs):
    """FluxTestEnv with the module loaded and FLUXGUARD_CONF pointing at a
    fluxguard.conf holding workdir_conf_text's settings."""
    env = FluxTestEnv(UNBOUND, module_path=MODULE, **kwargs)
    conf = env.workdir / "fluxguard.conf"
    conf.write_text(workdir_conf_text)
    env.unbound_args["env"] = {"FLUXGUARD_CONF": str(conf)}
    return env.start()


def conf_text(policy, extra=""):
    return ("policy: %s\nasn-database: %s\ncountry-database: %s\n"
            "rewrite-ttl: 30\n%s" % (policy, FIXTURES / "test-asn.mmdb",
                                     FIXTURES / "test-country.mmdb", extra))


def ede(response):
    """(code, text) of the first Extended DNS Error option, or None."""
    for option in response.options:
        if option.otype == dns.edns.OptionType.EDE:
            return option.code, option.text
    return None


def rcode_name(response):
    return dns.rcode.to_text(response.rcode())


def resolve_until(port, blocked, label="n", domain="flux.test", max_seconds=40,
                  before=None, each=None):
    """Resolves a fresh name under `domain` every 0.7 s (each one a cache
    miss, so the module sees a new upstream answer; the test zones rotate
    every 2 s) until blocked(response). Returns (resolutions, response), or
    (resolutions, None) after max_seconds. before(i) runs before each query,
    each(i, response) after each answer that is not blocked yet."""
    deadline = time.monotonic() + max_seconds
    i = 0
    while time.monotonic() < deadline:
        if before:
            before(i)
        response = query("%s%d.%s" % (label, i, domain), "A", port)
        if blocked(response):
            return i + 1, response
        if each:
            each(i, response)
        i += 1
        time.sleep(0.7)
    return i, None


def is_nxdomain(response):
    return response.rcode() == dns.rcode.NXDOMAIN
