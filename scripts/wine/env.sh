# shellcheck shell=bash
# Sourced by scripts/setup and scripts/test: where Wine and the tests' private Wine prefix are,
# and starting and stopping its server. Needs $root (the repository).
# shellcheck disable=SC2154 # root is the caller's

# Debian's wine64 puts its loader and server here, not on PATH.
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver
# cargo's build directory (a relative CARGO_TARGET_DIR is the repository's, where scripts/test
# runs cargo); the prefix and the shim live under it.
target_dir="${CARGO_TARGET_DIR:-target}"
[[ $target_dir == /* ]] || target_dir="$root/$target_dir"
wine_dir="$target_dir/wine"
export WINEPREFIX="$wine_dir/prefix"
# No Wine diagnostics on stderr (tests read rolesh's), no offer to install Mono or Gecko, and
# no menu entries for the prefix in the home directory (winemenubuilder).
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"

# Starts the prefix's server and its services with no output and no input: a Wine server, and
# the services that the first Wine program starts, keep open whatever output they started with,
# so a server started from a pipe or $(…) would hold it for seconds or, when persistent,
# forever. Every later Wine program then finds them running.
wine_start() {
	# Exit status 2: a server already runs for this prefix.
	timeout 60 "$wineserver" --persistent </dev/null >/dev/null 2>&1 || (($? == 2)) || return 1
	timeout 120 "$wine" wineboot </dev/null >/dev/null 2>&1
}

# Stops the prefix's server and every Wine program of the prefix.
wine_stop() {
	timeout 60 "$wineserver" --kill </dev/null >/dev/null 2>&1 || true
}
