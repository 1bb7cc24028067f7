# rolesh hook for zsh: add  eval "$(rolesh init zsh)"  to ~/.zshrc.
# (shellcheck has no zsh mode; the tests check this file with `zsh -n`.)
#
# `rolesh use` and `rolesh unuse` must change this shell, so `rolesh` is a function: for
# those two (and `dir-changed`, which the --auto-dir part runs) it runs the binary, which
# prints shell code on stdout, and evals that code. Every other subcommand goes straight to
# the binary. Works under `setopt nounset err_exit`.

# $EPOCHSECONDS without forking `date`.
zmodload zsh/datetime

# The binary reads the saved environment (this shell's private __rolesh_restore, never
# exported: it may hold keys the session hides from children) on stdin, so nothing it
# starts can find it in its environment; it also gets the shell's pid, whose exit ends the
# session. A pipe from the print builtin, not a here-string: zsh writes a here-string to a
# temp file, which a killed shell would leave behind. The status is rolesh's own.
rolesh() {
    case "${1-}" in
    use | unuse | dir-changed)
        local __rolesh_code
        __rolesh_code="$(
            print -r -- "${__rolesh_restore-}" | command ::ROLESH:: "$1" --shell-hook zsh --shell-pid "$$" "${@:2}"
            exit "${pipestatus[2]}"
        )" || return
        eval "${__rolesh_code}"
        ;;
    *)
        command ::ROLESH:: "$@"
        ;;
    esac
}

# The session as `PROFILE TIME-LEFT`, as `rolesh prompt` prints it, from builtins only: use
# it with `setopt prompt_subst` as PROMPT='${ROLESH_PROMPT} %# ' (no fork at each prompt).
__rolesh_prompt_update() {
    typeset -g ROLESH_PROMPT=
    [[ -n ${ROLESH_PROFILE-} ]] || return 0
    ROLESH_PROMPT=${ROLESH_PROFILE}
    # A number check before any arithmetic: zsh would evaluate a crafted value as code.
    [[ ${ROLESH_EXPIRES-} == <-> && ${#ROLESH_EXPIRES} -le 12 ]] || return 0
    local -i left=$(( 10#${ROLESH_EXPIRES} - EPOCHSECONDS ))
    if (( left <= 0 )); then
        ROLESH_PROMPT+=" expired"
    elif (( left < 60 )); then
        ROLESH_PROMPT+=" ${left}s"
    elif (( left < 3600 )); then
        ROLESH_PROMPT+=" $(( left / 60 ))m"
    else
        ROLESH_PROMPT+=" $(( left / 3600 ))h${(l:2::0:)$(( left % 3600 / 60 ))}m"
    fi
}

# Prints the prompt text, for prompts that are built by a function.
__rolesh_prompt() {
    __rolesh_prompt_update
    print -rn -- "${ROLESH_PROMPT}"
}

# At each prompt: clear an expired session (never keep one silently), then refresh
# ROLESH_PROMPT. Outside a session this runs builtins only. zsh gives every precmd function
# and the prompt the command's own $?, whatever a hook returns, so this one returns 0: a
# non-zero return would end a shell running under err_exit (after `false && true`, say).
__rolesh_hook() {
    if [[ ${ROLESH_EXPIRES-} == <-> && ${#ROLESH_EXPIRES} -le 12 ]] && (( EPOCHSECONDS >= 10#${ROLESH_EXPIRES} )); then
        # If the binary is gone, at least drop what the session set (restore::SESSION_VARS).
        rolesh unuse --expired ||
            unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION ROLESH_PROFILE ROLESH_EXPIRES ROLESH_SESSION ROLESH_DIR
        # ::AUTO-DIR::
        # The directory may give its role again: look at it as if just entered.
        typeset -g __rolesh_dir_last=
        # ::END-AUTO-DIR::
    fi
    # ::AUTO-DIR::
    # chpwd covers every `cd`; this covers the first prompt and a session that just expired.
    [[ $PWD == "${__rolesh_dir_last-}" ]] || __rolesh_dir_check
    # ::END-AUTO-DIR::
    __rolesh_prompt_update
    return 0
}

# Added once, at the end, so earlier precmd hooks (starship's, say) still see $pipestatus.
typeset -ga precmd_functions
if (( ! ${precmd_functions[(I)__rolesh_hook]} )); then
    precmd_functions+=(__rolesh_hook)
fi

# ::AUTO-DIR::
# With --auto-dir: on every change of directory (cd, pushd, popd), the binary reads the
# directory's .rolesh (the innermost above it) and prints what to change: take the role of a
# file the user allowed, leave a directory's session on the way out, or nothing (one line on
# stderr says why a file is not used). It runs as `cd` returns, so `cd x && cmd` runs `cmd`
# with the directory's role; a prompt without a change of directory starts no process.
__rolesh_chpwd() {
    # Only in the shell at the prompt: not in a script, nor in a subshell `( cd x; make )`,
    # whose changes would be lost with it.
    [[ -o interactive ]] && (( ! ZSH_SUBSHELL )) || return 0
    __rolesh_dir_check
}

__rolesh_dir_check() {
    typeset -g __rolesh_dir_last=$PWD
    rolesh dir-changed || :
    return 0
}

typeset -ga chpwd_functions
if (( ! ${chpwd_functions[(I)__rolesh_chpwd]} )); then
    chpwd_functions+=(__rolesh_chpwd)
fi
# ::END-AUTO-DIR::
