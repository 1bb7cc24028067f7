# rolesh hook for fish (3.1 or newer): add  rolesh init fish | source  to
# ~/.config/fish/config.fish.
#
# `rolesh use` and `rolesh unuse` must change this shell, so `rolesh` is a function: for
# those two (and `dir-changed`, which the --auto-dir part runs) it runs the binary, which
# prints shell code on stdout, and sources that code. Every other subcommand goes straight to
# the binary.

# The binary reads the saved environment (this shell's private __rolesh_restore, never
# exported: it may hold keys the session hides from children) on stdin, so nothing it
# starts can find it in its environment; it also gets the shell's pid, whose exit ends the
# session.
function rolesh --description 'AWS STS AssumeRole sessions in the shell'
    switch "$argv[1]"
        case use unuse dir-changed
            set -l __rolesh_restore_now
            set -q __rolesh_restore; and set __rolesh_restore_now $__rolesh_restore
            set -l code (printf '%s\n' "$__rolesh_restore_now" | command ::ROLESH:: $argv[1] --shell-hook fish --shell-pid $fish_pid $argv[2..-1])
            or return
            # Command substitution split the code into lines; joined again it is the same text.
            string join \n -- $code | source
        case '*'
            command ::ROLESH:: $argv
    end
end

# The session as `PROFILE TIME-LEFT`, as `rolesh prompt` prints it; call it from
# fish_prompt. fish has no clock builtin, so this forks `date +%s`, but only while a session
# is active.
function __rolesh_prompt --description 'The rolesh session for a prompt'
    set -q ROLESH_PROFILE; or return 0
    if not string match -qr '^[0-9]{1,12}$' -- "$ROLESH_EXPIRES"
        printf '%s' $ROLESH_PROFILE
        return 0
    end
    set -l left (math $ROLESH_EXPIRES - (date +%s))
    if test $left -le 0
        printf '%s expired' $ROLESH_PROFILE
    else if test $left -lt 60
        printf '%s %ds' $ROLESH_PROFILE $left
    else if test $left -lt 3600
        printf '%s %dm' $ROLESH_PROFILE (math --scale=0 $left / 60)
    else
        printf '%s %dh%02dm' $ROLESH_PROFILE (math --scale=0 $left / 3600) (math --scale=0 $left % 3600 / 60)
    end
end

# Before each prompt: clear an expired session, never keep one silently. Outside a session
# this runs builtins only; inside one it forks `date +%s` once. Event handlers leave $status
# and $pipestatus as they were, and defining the function again replaces it, so loading
# twice adds nothing.
function __rolesh_hook --on-event fish_prompt
    if string match -qr '^[0-9]{1,12}$' -- "$ROLESH_EXPIRES"; and test (date +%s) -ge $ROLESH_EXPIRES
        # If the binary is gone, at least drop what the session set (restore::SESSION_VARS).
        rolesh unuse --expired
        or set -e AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION ROLESH_PROFILE ROLESH_EXPIRES ROLESH_SESSION ROLESH_DIR
        # ::AUTO-DIR::
        # The directory may give its role again: look at it as if just entered.
        set -g __rolesh_dir_last
        # ::END-AUTO-DIR::
    end
    # ::AUTO-DIR::
    # The PWD handler covers every `cd`; this covers the first prompt and a session that just
    # expired.
    test "$PWD" = "$__rolesh_dir_last"; or __rolesh_dir_check
    # ::END-AUTO-DIR::
end

# ::AUTO-DIR::
# With --auto-dir: on every change of directory, the binary reads the directory's .rolesh
# (the innermost above it) and prints what to change: take the role of a file the user
# allowed, leave a directory's session on the way out, or nothing (one line on stderr says
# why a file is not used). It runs as `cd` returns, so `cd x; and cmd` runs `cmd` with the
# directory's role; a prompt without a change of directory starts no process.
function __rolesh_dir_changed --on-variable PWD
    # Only in the shell at the prompt: config.fish is read by scripts too.
    status is-interactive; or return 0
    __rolesh_dir_check
end

function __rolesh_dir_check
    set -g __rolesh_dir_last $PWD
    rolesh dir-changed
end
# ::END-AUTO-DIR::
