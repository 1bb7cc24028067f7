# rolesh hook for PowerShell: add this line to $PROFILE:
#   Invoke-Expression (& rolesh init powershell | Out-String)
#
# `rolesh use` and `rolesh unuse` must change this session, so `rolesh` is a function: for
# those two (and `dir-changed`, which the --auto-dir part runs) it runs the binary, which
# prints PowerShell code on stdout, and runs that code. Every other subcommand goes straight
# to the binary. Works under Set-StrictMode -Version Latest.

# This session's saved environment (what `unuse` restores). A global variable, not $env:, as
# it may hold keys the session hides from child processes.
if (-not (Test-Path -LiteralPath Variable:global:__rolesh_restore)) {
    $global:__rolesh_restore = ''
}

function global:rolesh {
    $sub = if ($args.Count -gt 0) { [string]$args[0] } else { '' }
    if ($sub -notin 'use', 'unuse', 'dir-changed') {
        & ::ROLESH:: @args
        return
    }
    $rest = @($args | Select-Object -Skip 1)
    # The binary reads the saved environment on stdin (so nothing it starts can find it in
    # its environment) and gets this session's pid, whose exit ends the rolesh session.
    # rolesh prints UTF-8; PowerShell decodes a native command's output with
    # [Console]::OutputEncoding, which on Windows is often a legacy code page.
    $encoding = [Console]::OutputEncoding
    try {
        [Console]::OutputEncoding = [Text.Encoding]::UTF8
        $code = [string]$global:__rolesh_restore | & ::ROLESH:: $sub --shell-hook powershell --shell-pid $PID @rest
    } finally {
        [Console]::OutputEncoding = $encoding
    }
    if ($LASTEXITCODE -ne 0) {
        return
    }
    if ($null -ne $code) {
        Invoke-Expression (@($code) -join "`n")
    }
}

# The session as `PROFILE TIME-LEFT`, as `rolesh prompt` prints it, without starting a
# process: call it from your prompt function.
function global:__rolesh_prompt {
    $profileName = $env:ROLESH_PROFILE
    if (-not $profileName) {
        return ''
    }
    $expires = $env:ROLESH_EXPIRES
    if ($expires -notmatch '^[0-9]{1,12}$') {
        return $profileName
    }
    $left = [long]$expires - [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
    if ($left -le 0) {
        return "$profileName expired"
    }
    if ($left -lt 60) {
        return "$profileName ${left}s"
    }
    if ($left -lt 3600) {
        return "$profileName $([Math]::Floor($left / 60))m"
    }
    return ('{0} {1}h{2:00}m' -f $profileName, [Math]::Floor($left / 3600), [Math]::Floor(($left % 3600) / 60))
}

# Before each prompt: clear an expired session, never keep one silently. Outside a session
# this starts no process.
function global:__rolesh_hook {
    $expires = $env:ROLESH_EXPIRES
    if ($expires -match '^[0-9]{1,12}$' -and [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() -ge [long]$expires) {
        $cleared = $false
        try {
            rolesh unuse --expired
            $cleared = $LASTEXITCODE -eq 0
        } catch {
            Write-Warning "rolesh: $_"
        }
        if (-not $cleared) {
            # If the binary is gone, at least drop what the session set (restore::SESSION_VARS).
            foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION', 'ROLESH_PROFILE', 'ROLESH_EXPIRES', 'ROLESH_SESSION', 'ROLESH_DIR') {
                Remove-Item -LiteralPath "Env:$name" -ErrorAction Ignore
            }
        }
        # ::AUTO-DIR::
        # The directory may give its role again: look at it as if just entered.
        $global:__rolesh_dir_last = ''
        # ::END-AUTO-DIR::
    }
    # ::AUTO-DIR::
    # LocationChangedAction covers every change of location on PowerShell 7; this covers the
    # first prompt, a session that just expired, and Windows PowerShell 5.1, which has no such
    # hook.
    if ($PWD.Path -ne $global:__rolesh_dir_last) {
        __rolesh_dir_changed
    }
    # ::END-AUTO-DIR::
}

# ::AUTO-DIR::
# With --auto-dir: on a change of location, the binary (started in the new location) reads
# the directory's .rolesh (the innermost above it) and prints what to change: take the role
# of a file the user allowed, leave a directory's session on the way out, or nothing (one
# line on stderr says why a file is not used). A prompt without a change starts no process.
function global:__rolesh_dir_changed {
    $global:__rolesh_dir_last = $PWD.Path
    # A change of location sets no exit code: keep the one the last native command left.
    $hadExitCode = Test-Path -LiteralPath Variable:global:LASTEXITCODE
    $exitCode = if ($hadExitCode) { $global:LASTEXITCODE } else { 0 }
    try {
        rolesh dir-changed
    } catch {
        Write-Warning "rolesh: $_"
    }
    if ($hadExitCode) {
        $global:LASTEXITCODE = $exitCode
    } else {
        Remove-Variable -Name LASTEXITCODE -Scope Global -ErrorAction Ignore
    }
}

# Added once, after any action already there (loading twice does not stack).
if (-not (Test-Path -LiteralPath Variable:global:__rolesh_dir_last)) {
    $global:__rolesh_dir_last = ''
    if ($PSVersionTable.PSVersion.Major -ge 7) {
        $ExecutionContext.SessionState.InvokeCommand.LocationChangedAction = [Delegate]::Combine(
            $ExecutionContext.SessionState.InvokeCommand.LocationChangedAction,
            [EventHandler[System.Management.Automation.LocationChangedEventArgs]] {
                param([object] $source, [System.Management.Automation.LocationChangedEventArgs] $eventArgs)
                __rolesh_dir_changed
            })
    }
}
# ::END-AUTO-DIR::

# Wrap the existing prompt once (loading twice does not stack): run the hook, give the old
# prompt the same $? and $LASTEXITCODE it would have seen, and return its text.
if (-not (Test-Path -LiteralPath Variable:global:__rolesh_hooked)) {
    $global:__rolesh_hooked = $true
    $global:__rolesh_old_prompt = $function:prompt
    function global:prompt {
        $success = $global:?
        # Under StrictMode, reading $LASTEXITCODE before any native command has run fails.
        $hadExitCode = Test-Path -LiteralPath Variable:global:LASTEXITCODE
        $exitCode = if ($hadExitCode) { $global:LASTEXITCODE } else { 0 }
        try {
            __rolesh_hook
        } catch {
            Write-Warning "rolesh: $_"
        }
        $old = $global:__rolesh_old_prompt
        if ($null -eq $old) {
            $old = { "PS $($executionContext.SessionState.Path.CurrentLocation)$('>' * ($nestedPromptLevel + 1)) " }
        }
        if ($hadExitCode) {
            $global:LASTEXITCODE = $exitCode
        }
        # $? cannot be assigned, so the last statement before the old prompt sets it back:
        # one that succeeds, or an error that is ignored (starship's trick).
        if ($success) {
            $null = 1
        } else {
            Write-Error '' -ErrorAction Ignore
        }
        & $old
    }
}
