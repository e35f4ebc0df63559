#!/usr/bin/env bash
# Builds GeoLite2-schema ASN and Country databases from Debian's libloc-database
# (IPFire's location data, CC BY-SA 4.0), so CI and local runs get real-world
# prefix -> ASN/country data without a MaxMind account or licence key.
#
#   scripts/build-geo-mmdb.sh OUTDIR
#     -> OUTDIR/fluxguard-asn.mmdb      (database_type GeoLite2-ASN)
#     -> OUTDIR/fluxguard-country.mmdb  (database_type GeoLite2-Country)
#
# Re-running is free while both outputs are newer than location.db and this
# script (a change to the schema below rebuilds them). Outputs appear by
# rename only, so an interrupted run never leaves a half-written file.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
outdir=$1
locdb=${FLUXGUARD_LOCATION_DB:-/usr/share/libloc-location/location.db}
asn_out="$outdir/fluxguard-asn.mmdb"
country_out="$outdir/fluxguard-country.mmdb"

if [[ ! -r "$locdb" ]]; then
  echo "fluxguard: $locdb not found (apt-get install libloc-database)" >&2
  exit 1
fi
[[ "$asn_out" -nt "$locdb" && "$country_out" -nt "$locdb" &&
   "$asn_out" -nt "$0" && "$country_out" -nt "$0" ]] && exit 0

mkdir -p "$outdir"
# Temp files live in OUTDIR so the final mv is an atomic same-filesystem rename.
tmp=$(mktemp -d "$outdir/.geo-mmdb.XXXXXX")
# Also stop the background writers if this shell alone is killed.
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

# Dump libloc to "network<TAB>asn<TAB>country<TAB>as-name<TAB>continent" lines (empty field =
# no value). /usr/bin/python3 on purpose: the `location` module is Debian's
# python3-location and is invisible to a pyenv/venv python earlier on PATH.
/usr/bin/python3 - "$locdb" "$tmp/networks.tsv" <<'PY'
import ipaddress
import sys

import location

db = location.Database(sys.argv[1])

# alias_ipv6_to_ipv4 makes these answer from the IPv4 tree (as in MaxMind's
# files) and the writer dies on inserts inside them.
aliased = [ipaddress.ip_network(n) for n in ("::ffff:0:0/96", "2001::/32", "2002::/16")]

continents = {}
def continent(cc):
    if cc not in continents:
        c = db.get_country(cc)
        continents[cc] = c.continent_code if c and c.continent_code else ""
    return continents[cc]

names = {}
def as_name(asn):
    if asn not in names:
        a = db.get_as(asn)
        # Tabs/newlines would break the line format.
        names[asn] = " ".join(a.name.split()) if a and a.name else ""
    return names[asn]

skipped = []
with open(sys.argv[2], "w", encoding="utf-8", errors="replace") as out:
    # libloc enumerates its network tree depth-first, so a network always comes
    # before the networks nested in it; the writer's "last insert wins" then
    # yields exactly libloc's longest-prefix answer.
    for n in db.networks:
        net = str(n)
        if ":" in net and any(ipaddress.ip_network(net).subnet_of(a) for a in aliased):
            skipped.append(net)
            continue
        asn = n.asn or 0
        cc = n.country_code or ""
        out.write(f"{net}\t{asn or ''}\t{cc}\t{as_name(asn) if asn else ''}\t"
                  f"{continent(cc) if cc else ''}\n")

if skipped:
    print(f"fluxguard: skipped {len(skipped)} libloc network(s) inside aliased "
          f"IPv4-in-IPv6 ranges (looked up via IPv4 instead): {' '.join(skipped)}",
          file=sys.stderr)
PY

# One writer per database; run both at once since each is single-threaded.
read -r -d '' writer <<'PL' || true
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($kind, $in, $out) = @ARGV;
my %types = (
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
    country                        => 'map',
    continent                      => 'map',
    iso_code                       => 'utf8_string',
    code                           => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    # 24 bits, like MaxMind's GeoLite2 ASN/Country; the trees need < 1M nodes.
    record_size              => 24,
    database_type            => $kind eq 'asn' ? 'GeoLite2-ASN' : 'GeoLite2-Country',
    languages                => ['en'],
    description              => { en => "fluxguard $kind data from IPFire libloc-database (location.ipfire.org, CC BY-SA 4.0)" },
    map_key_type_callback    => sub { $types{ $_[0] } // die "no type for key $_[0]\n" },
    # IPv4-mapped, 6to4 and Teredo addresses answer from the IPv4 data, as in
    # MaxMind's files.
    alias_ipv6_to_ipv4       => 1,
    merge_strategy           => 'none',
    # Left at its default (on), as in MaxMind's files: special-purpose ranges
    # (RFC 1918, documentation, AS112's 2001:4:112::/48, ...) get no record.
    remove_reserved_networks => 1,
);

open my $fh, '<:encoding(UTF-8)', $in or die "$in: $!\n";
my %record;
my $count = 0;
while (my $line = <$fh>) {
    chomp $line;
    my ($net, $asn, $cc, $name, $continent) = split /\t/, $line, -1;
    my $record;
    if ($kind eq 'asn') {
        $record = $asn eq '' ? undef : ($record{$asn} //= {
            autonomous_system_number => $asn + 0,
            # libloc lacks names for ~20% of ASes; omit the key rather than store "".
            ($name ne '' ? (autonomous_system_organization => $name) : ()),
        });
    } else {
        # continent.code as in GeoLite2-Country: AF AN AS EU NA OC SA.
        $record = $cc eq '' ? undef : ($record{$cc} //= {
            country => { iso_code => $cc },
            ($continent ne '' ? (continent => { code => $continent }) : ()),
        });
    }
    if ($record) {
        $tree->insert_network($net, $record);
        $count++;
    } else {
        # libloc answers "none" for a valueless network even inside a parent
        # that has a value, so punch it out rather than inherit the parent's.
        $tree->remove_network($net);
    }
}
close $fh;

open my $o, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($o);
close $o or die "$out: $!\n";
print STDERR "fluxguard: $kind: $count networks\n";
PL

perl -e "$writer" asn "$tmp/networks.tsv" "$tmp/asn.mmdb" &
asn_pid=$!
perl -e "$writer" country "$tmp/networks.tsv" "$tmp/country.mmdb" &
country_pid=$!
rc=0
wait "$asn_pid" || rc=1
wait "$country_pid" || rc=1
if [[ $rc -ne 0 ]]; then
  echo "fluxguard: building the geo databases failed" >&2
  exit 1
fi

mv -f "$tmp/asn.mmdb" "$asn_out"
mv -f "$tmp/country.mmdb" "$country_out"
echo "fluxguard: wrote $asn_out and $country_out from $locdb"
