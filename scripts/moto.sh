# shellcheck shell=bash
# Sourced by scripts/demo and bench/run: starts moto (a local STS and IAM) on a free loopback
# port and stops it when the sourcing script exits. Needs $venv (made by scripts/setup) and
# $workdir (a temp dir the caller removes).
# shellcheck disable=SC2154 # venv and workdir are the caller's

moto_pid=""
stop_moto() {
	if [[ -n $moto_pid ]]; then
		kill "$moto_pid" 2>/dev/null || true
		wait "$moto_pid" 2>/dev/null || true
		moto_pid=""
	fi
}

# Sets $endpoint to the running server's URL.
start_moto() {
	local port deadline
	port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
	endpoint="http://127.0.0.1:$port"
	"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$workdir/moto.log" 2>&1 &
	moto_pid=$!
	deadline=$((SECONDS + 30))
	until "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/', timeout=1)" 2>/dev/null; do
		kill -0 "$moto_pid" 2>/dev/null || {
			echo "moto exited; its log: $(cat "$workdir/moto.log")" >&2
			return 1
		}
		((SECONDS < deadline)) || {
			echo "moto did not answer on $endpoint within 30s" >&2
			return 1
		}
		sleep 0.1 # pacing between polls, bounded by the deadline above
	done
}

# Points everything at moto and at files under $workdir, away from the user's own AWS setup.
isolate_aws() {
	unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
		AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_REGION ROLESH_CACHE_DIR ROLESH_STATE_DIR
	export PATH="$venv/bin:$PATH"
	export HOME="$workdir/home"
	export AWS_CONFIG_FILE="$workdir/config"
	export AWS_SHARED_CREDENTIALS_FILE="$workdir/credentials"
	export AWS_ENDPOINT_URL_STS="$endpoint"
	export AWS_ENDPOINT_URL_IAM="$endpoint"
	export AWS_EC2_METADATA_DISABLED=true
	export AWS_DEFAULT_REGION=eu-west-1
	export XDG_CACHE_HOME="$workdir/cache"
	export XDG_STATE_HOME="$workdir/state"
	mkdir -p "$HOME"
	: >"$AWS_CONFIG_FILE"
	: >"$AWS_SHARED_CREDENTIALS_FILE"
}
