//! Which interrupts rolesh passes on while it waits for a command. The terminal's Ctrl-C
//! already reaches the command (same process group): passed on again, programs such as
//! terraform take the second one as "abort now". An INT sent to rolesh alone with `kill`
//! reached nobody else: rolesh passes it on. The child here is a small Python program that
//! counts INTs, since a shell's trap may fold two signals into one.
#![cfg(unix)]

mod support;

use support::StandIn;
use support::fixtures::deployer;
use support::process::DEADLINE;

/// Counts INTs; on USR1 prints the count and exits 0; on the first INT exits 3 if asked to.
/// `own_group` puts it in a process group of its own, so a terminal's ^C reaches rolesh only.
fn counter(own_group: bool, exit_on_int: bool) -> String {
    format!(
        "import os, signal
if {own_group}: os.setpgid(0, 0)
ints = 0
def on_int(sig, frame):
    global ints
    ints += 1
    if {exit_on_int}: os._exit(3)
def on_usr1(sig, frame):
    # os.write, not print: the handler may run while print('ready') is still in progress.
    os.write(1, f'ints={{ints}}\\n'.encode())
    os._exit(0)
signal.signal(signal.SIGINT, on_int)
signal.signal(signal.SIGUSR1, on_usr1)
print('ready', flush=True)
while True: signal.pause()
",
        own_group = if own_group { "True" } else { "False" },
        exit_on_int = if exit_on_int { "True" } else { "False" },
    )
}

#[test]
fn int_sent_to_rolesh_alone_is_passed_on_to_the_command() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let running = env.spawn(["exec", "deployer", "--", "python3", "-c", &counter(false, true)]);
    running.expect_stdout("ready", DEADLINE);
    // To rolesh's pid only, as `kill -INT PID` does: nothing else delivers it to the command.
    running.signal(libc::SIGINT);
    let outcome = running.wait(DEADLINE);
    assert_eq!(outcome.code(), 3, "the command did not get the INT:\n{outcome}");
}

#[test]
fn ctrl_c_typed_on_the_terminal_is_not_passed_on_again() {
    let stand_in = StandIn::start();
    let env = deployer(&stand_in, "");
    let mut pty = env.pty(["exec", "deployer", "--", "python3", "-c", &counter(true, false)]);
    pty.expect("ready", DEADLINE);
    pty.send("\x03");
    // The terminal echoes ^C after it has signalled the foreground group (rolesh alone here):
    // from then on the INT is pending at rolesh, or handled.
    pty.expect("^C", DEADLINE);
    // A USR1 rolesh passes on: if rolesh had passed the INT on, the command would have it
    // first (a pending INT is delivered before a USR1).
    // SAFETY: a plain kill of the process the pty started.
    assert_eq!(unsafe { libc::kill(pty.pid(), libc::SIGUSR1) }, 0);
    let (status, screen) = pty.finish(DEADLINE);
    assert!(status.success(), "{status:?}; the terminal showed:\n{screen}");
    assert!(screen.contains("ints=0"), "the command got a second INT from rolesh:\n{screen}");
}
