"""Shared set-up of the end-to-end tests: paths from the environment CTest
sets, fluxguard.conf writing, and DNS answer checks."""

import os
from pathlib import Path

import dns.edns
import dns.rcode

from fluxtest import FluxTestEnv

MODULE = os.environ["FLUXGUARD_MODULE"]
UNBOUND = os.environ["FLUXGUARD_UNBOUND"]
FIXTURES = Path(os.environ["FLUXGUARD_FIXTURES"])
EDE_BLOCKED = 15


def fluxguard_conf(path, policy, extra=""):
    """Writes a fluxguard.conf on the test mmdb fixtures; returns its path."""
    path = Path(path)
    path.write_text(
        "# written by the end-to-end tests\n"
        "policy: %s\n"
        "asn-database: %s\n"
        "country-database: %s\n"
        "rewrite-ttl: 30\n%s" % (policy, FIXTURES / "test-asn.mmdb",
                                 FIXTURES / "test-country.mmdb", extra))
    return path


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
