#!/usr/bin/env bash
##
## package.sh — build the release .deb: probe-agent_VERSION_ARCH.deb, no Swift needed on the host.
##
## Usage: scripts/package.sh [--output DIR] [--no-build] [--lintian] [-h|--help]
##
##   1. swift build -c release --static-swift-stdlib (probe-agent, agentctl) in .build-package,
##      apart from .build so a developer's own builds are not relinked
##   2. stage the tree: /usr/bin (stripped), the unit from config/ with ExecStart=/usr/bin/probe-agent,
##      packaging/agent.yaml as the conffile /etc/probe-agent/agent.yaml, man pages made
##      from --help (help2man), /usr/share/doc/probe-agent (README, copyright with the linked
##      packages' licences, changelog, examples: config/agent.yaml, config/web-config.yml and the Grafana/Prometheus kit)
##   3. Depends: from what the binaries really link (dpkg-shlibdeps), plus passwd (postinst)
##   4. dpkg-deb --build; the .deb's path is the last line on stdout
##
##   --output DIR  where the .deb goes (default .build-package/deb)
##   --no-build    pack the binaries already in .build-package
##   --lintian     then run lintian on it (fails on any error or warning not overridden)
##
## The version is the one the binaries report (`probe-agent --version`, from
## Sources/AdminAPI/AdminPaths.swift), so package, binaries and probeagent_build_info agree.
## The release build takes minutes (~10 on a busy 2-core machine); later runs are incremental.
## Needs: swift, dpkg-dev, help2man (scripts/install-deps.sh installs them); no root.
##
set -euo pipefail
source "$(dirname "$0")/lib/common.sh" "$@"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
scratch="$repo/.build-package"
output="$scratch/deb"
build=yes lint=no
while [[ $# -gt 0 ]]; do
    case "$1" in
        --output) [[ $# -ge 2 ]] || fatal "--output needs a directory"; output=$2; shift ;;
        --no-build) build=no ;;
        --lintian) lint=yes ;;
        -h|--help) usage; exit 0 ;;
        *) fatal "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
for tool in dpkg-deb dpkg-shlibdeps help2man strip; do
    command -v "$tool" >/dev/null || fatal "$tool not found: scripts/install-deps.sh installs it"
done

cd "$repo"
if [[ "$build" == yes ]]; then
    # relro + now: the hardening Debian builds use (lintian checks it); Swift links PIE already.
    for product in probe-agent agentctl; do
        log "swift build -c release --static-swift-stdlib --product $product (scratch $scratch)"
        swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product" \
            -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now >&2
    done
fi
bin="$scratch/release"
for b in probe-agent agentctl; do
    [[ -x "$bin/$b" ]] || fatal "$bin/$b missing: run without --no-build"
done

version=$("$bin/probe-agent" --version)
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || fatal "probe-agent --version printed '$version', not a Debian version"
agentctl_version=$("$bin/agentctl" --version)
[[ "$agentctl_version" == "$version" ]] || fatal "agentctl --version is '$agentctl_version', probe-agent's '$version'"
arch=$(dpkg --print-architecture)
maintainer="ProbeAgent maintainers <maintainers@users.noreply.b-seed-1316f979.example>"
# Reproducible: every date and mtime from the commit being packed.
SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
commit=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)

stage=$(mktemp -d "${TMPDIR:-/tmp}/probe-agent-deb.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT
root="$stage/probe-agent"
doc="$root/usr/share/doc/probe-agent"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/probe-agent" \
    "$root/usr/share/man/man1" "$root/usr/share/lintian/overrides" "$doc/licenses" \
    "$doc/examples/grafana" "$doc/examples/prometheus"

# Binaries, stripped as dh_strip does (the unstripped ones stay in .build-package for backtraces).
for b in probe-agent agentctl; do
    install -m 0755 "$bin/$b" "$root/usr/bin/$b"
    strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/$b"
done

# The unit as in the repository, with the packaged binary's path.
grep -q '^ExecStart=/usr/local/bin/probe-agent ' config/probe-agent.service \
    || fatal "config/probe-agent.service: no ExecStart=/usr/local/bin/probe-agent line to point at /usr/bin"
sed -e 's#^ExecStart=/usr/local/bin/probe-agent #ExecStart=/usr/bin/probe-agent #' \
    -e '/^# Install:$/,/^#   systemctl daemon-reload/c\# Installed by the Debian package probe-agent (scripts/package.sh).' \
    config/probe-agent.service >"$root/lib/systemd/system/probe-agent.service"
install -m 0644 packaging/agent.yaml "$root/etc/probe-agent/agent.yaml"

# Man pages from --help; agentctl's subcommands each get a section.
man_help() { # man_help BINARY NAME DESCRIPTION [INCLUDE]
    local include=()
    [[ -z "${4:-}" ]] || include=(--include "$4")
    help2man --no-info --section 1 --version-string "$version" --name "$3" "${include[@]}" \
        --output "$stage/$2.1" "$1"
    gzip -9n <"$stage/$2.1" >"$root/usr/share/man/man1/$2.1.gz"
}
roff_text() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
{
    echo "[COMMANDS]"
    for sub in status queue-stats monitors reload events probe trace "config check" doctor; do
        printf '.SS "agentctl %s"\n.nf\n' "$sub"
        # shellcheck disable=SC2086 # "config check" is two words on purpose
        "$root/usr/bin/agentctl" $sub --help | roff_text
        printf '.fi\n'
    done
} >"$stage/agentctl.h2m"
man_help "$root/usr/bin/probe-agent" probe-agent "network probe agent: ICMP and TCP reachability and latency"
man_help "$root/usr/bin/agentctl" agentctl "inspect and drive a running probe-agent" "$stage/agentctl.h2m"

# Documentation and the operations kit.
gzip -9n <README.md >"$doc/README.md.gz"
install -m 0644 config/agent.yaml "$doc/examples/agent.yaml"
install -m 0644 config/web-config.yml "$doc/examples/web-config.yml"
install -m 0644 config/prometheus-scrape.yml "$doc/examples/prometheus/prometheus-scrape.yml"
install -m 0644 config/grafana/*.json "$doc/examples/grafana/"
install -m 0644 config/prometheus/*.yml "$doc/examples/prometheus/"
licenses=""
for dir in "$scratch"/checkouts/*/; do
    name=$(basename "$dir")
    file=$(find "$dir" -maxdepth 1 -iname 'LICENSE*' -type f | sort | head -n1)
    [[ -n "$file" ]] || fatal "no LICENSE file in the checkout $dir"
    install -m 0644 "$file" "$doc/licenses/$name"
    licenses+=" $name"$'\n'
    # Apache-2.0 asks for the NOTICE to travel too; C code vendored under Sources/ has its own.
    notice=$(find "$dir" -maxdepth 1 -iname 'NOTICE*' -type f | sort | head -n1)
    [[ -z "$notice" ]] || install -m 0644 "$notice" "$doc/licenses/$name.NOTICE"
    while IFS= read -r vendored; do
        sub=$(basename "$(dirname "$vendored")")
        install -m 0644 "$vendored" "$doc/licenses/$name.$sub"
        licenses+=" $name.$sub (vendored in $name)"$'\n'
    done < <(find "$dir/Sources" -mindepth 2 -maxdepth 2 -iname 'LICENSE*' -type f 2>/dev/null | sort)
done
awk -v list="$licenses" -v year="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)" \
    '{ if ($0 == "@LICENSES@") printf "%s", list; else { gsub("@YEAR@", year); print } }' \
    packaging/copyright >"$doc/copyright"
{
    printf 'probe-agent (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Release %s, built from commit %s.\n\n' "$version" "$commit"
    printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
install -m 0644 packaging/lintian-overrides "$root/usr/share/lintian/overrides/probe-agent"

# Depends: what the binaries link, as dpkg-shlibdeps reads it off this system's packages.
mkdir -p "$stage/shlibs/debian"
printf 'Source: probe-agent\n\nPackage: probe-agent\nArchitecture: any\n' >"$stage/shlibs/debian/control"
shlibs=$(cd "$stage/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/probe-agent" "$root/usr/bin/agentctl")
depends=${shlibs#shlibs:Depends=}
[[ "$depends" != "$shlibs" && -n "$depends" ]] || fatal "dpkg-shlibdeps printed '$shlibs'"
if grep -Eq 'swift|foundation|dispatch' <<<"$depends"; then
    fatal "the binaries depend on a Swift runtime package: $depends"
fi
depends+=", passwd"

# Control files. md5sums leaves the conffile out, as dh_md5sums does.
install -m 0644 packaging/conffiles "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "packaging/$s" "$root/DEBIAN/$s"; done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\./##' \
    | grep -vxF -f <(sed 's#^/##' DEBIAN/conffiles) | LC_ALL=C sort | xargs md5sum) >"$stage/md5sums"
install -m 0644 "$stage/md5sums" "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$size|" -e "s|@DEPENDS@|$depends|" packaging/control.in >"$root/DEBIAN/control"
find "$root" -type d -exec chmod 0755 {} +

mkdir -p "$output"
deb="$(cd "$output" && pwd)/probe-agent_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
log "built $deb: Version $version, Depends: $depends"

if [[ "$lint" == yes ]]; then
    command -v lintian >/dev/null || fatal "lintian not found: scripts/install-deps.sh installs it"
    log "lintian $deb"
    lintian --fail-on error,warning --display-info "$deb" >&2
fi
echo "$deb"
