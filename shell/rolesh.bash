# shellcheck shell=bash
# rolesh hook for bash (5.0 or newer): add  eval "$(rolesh init bash)"  to ~/.bashrc.
#
# `rolesh use` and `rolesh unuse` must change this shell, so `rolesh` is a function: for
# those two (and `dir-changed`, which the --auto-dir part runs) it runs the binary, which
# prints shell code on stdout, and evals that code. Every other subcommand goes straight to
# the binary. Works under `set -euo pipefail`.

# The binary reads the saved environment (this shell's private __rolesh_restore, never
# exported: it may hold keys the session hides from children) on stdin, so nothing it
# starts can find it in its environment; it also gets the shell's pid, whose exit ends the
# session. A pipe from the printf builtin, not a here-string: bash 5.0 writes a here-string
# to a temp file, which a killed shell would leave behind. The status is rolesh's own, even
# under pipefail.
rolesh() {
    case "${1-}" in
    use | unuse | dir-changed)
        local __rolesh_code
        __rolesh_code=$(
            printf '%s\n' "${__rolesh_restore-}" | command ::ROLESH:: "$1" --shell-hook bash --shell-pid "$$" "${@:2}"
            exit "${PIPESTATUS[1]}"
        ) || return
        eval "${__rolesh_code}"
        ;;
    *)
        command ::ROLESH:: "$@"
        ;;
    esac
}

# The session as `PROFILE TIME-LEFT`, as `rolesh prompt` prints it, computed with builtins
# only: use it in PS1 as '${ROLESH_PROMPT}' (a $(...) would fork at every prompt).
__rolesh_prompt_update() {
    ROLESH_PROMPT=
    [[ -n ${ROLESH_PROFILE-} ]] || return 0
    ROLESH_PROMPT=${ROLESH_PROFILE}
    # A number check before any arithmetic: bash would evaluate a crafted value as code.
    [[ ${ROLESH_EXPIRES-} =~ ^[0-9]{1,12}$ ]] || return 0
    local -i left=$((10#${ROLESH_EXPIRES} - EPOCHSECONDS))
    if ((left <= 0)); then
        ROLESH_PROMPT+=" expired"
    elif ((left < 60)); then
        ROLESH_PROMPT+=" ${left}s"
    elif ((left < 3600)); then
        ROLESH_PROMPT+=" $((left / 60))m"
    else
        printf -v ROLESH_PROMPT '%s %dh%02dm' "${ROLESH_PROFILE}" $((left / 3600)) $((left % 3600 / 60))
    fi
}

# Prints the prompt text, for prompts that are built by a function.
__rolesh_prompt() {
    __rolesh_prompt_update
    printf '%s' "${ROLESH_PROMPT}"
}

# At each prompt: clear an expired session (never keep one silently), then refresh
# ROLESH_PROMPT. Outside a session this runs builtins only: $EPOCHSECONDS, no fork.
__rolesh_hook() {
    local -r __rolesh_status=$?
    if [[ ${ROLESH_EXPIRES-} =~ ^[0-9]{1,12}$ ]] && ((EPOCHSECONDS >= 10#${ROLESH_EXPIRES})); then
        # If the binary is gone, at least drop what the session set (restore::SESSION_VARS).
        rolesh unuse --expired ||
            unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION ROLESH_PROFILE ROLESH_EXPIRES ROLESH_SESSION ROLESH_DIR
        # ::AUTO-DIR::
        # The directory may give its role again: look at it as if just entered.
        __rolesh_dir_last=
        # ::END-AUTO-DIR::
    fi
    # ::AUTO-DIR::
    __rolesh_dir_check
    # ::END-AUTO-DIR::
    __rolesh_prompt_update
    return "${__rolesh_status}"
}

# ::AUTO-DIR::
# With --auto-dir: when $PWD is not where the last prompt was, the binary reads the
# directory's .rolesh (the innermost above it) and prints what to change: take the role of a
# file the user allowed, leave a directory's session on the way out, or nothing (one line on
# stderr says why a file is not used). A prompt in the same directory starts no process.
# bash has no hook on `cd` itself, so in `cd x && cmd` the switch comes after `cmd`.
__rolesh_dir_check() {
    [[ ${PWD} != "${__rolesh_dir_last-}" ]] || return 0
    __rolesh_dir_last=${PWD}
    rolesh dir-changed || :
}
# ::END-AUTO-DIR::

# Run last in PROMPT_COMMAND, so hooks before it (starship's, say) still see $PIPESTATUS.
# A newline separates commands whatever the old value ends with; for the array form
# (bash 5.1+) the hook is a new element (`-v NAME[@]`: an array may have no element 0, and
# `${NAME@a}` of an empty one trips `set -u`). Loading twice adds nothing.
# The hook returns the command's status for anything added after it, but a non-zero status
# there would end a shell running under `set -e` and fire an ERR trap a second time (after
# `false && true`, say): in an `&&` list neither applies, and the status stays.
__rolesh_entry='__rolesh_hook && :'
if [[ ${PROMPT_COMMAND[*]-} != *__rolesh_hook* ]]; then
    if [[ -v PROMPT_COMMAND[@] && ${PROMPT_COMMAND@a} == *a* ]]; then
        PROMPT_COMMAND+=("${__rolesh_entry}")
    elif [[ -n ${PROMPT_COMMAND-} ]]; then
        PROMPT_COMMAND+=$'\n'${__rolesh_entry}
    else
        PROMPT_COMMAND=${__rolesh_entry}
    fi
fi
unset __rolesh_entry
