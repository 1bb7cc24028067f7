//! The README's first steps stay true: the two commands of "Try it" are there, in a code
//! block, and CI runs the one it names as the test command; the install section asks for the
//! Rust version Cargo.toml declares and shows the hook line `rolesh` itself names. An edit
//! that drops or renames one of them fails here instead of misleading the next reader.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("could not read {path}: {e}"))
}

/// The commands of every ```console block (the lines after a `$ ` prompt) and ```sh block
/// (every line but comments), each without its trailing `# comment`, paired with that comment.
fn console_commands(markdown: &str) -> Vec<(String, String)> {
    #[derive(PartialEq)]
    enum Block {
        None,
        Console,
        Sh,
    }
    let mut block = Block::None;
    let mut found = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            block = match line.trim() {
                _ if block != Block::None => Block::None,
                "```console" => Block::Console,
                "```sh" => Block::Sh,
                _ => Block::None,
            };
            continue;
        }
        let command = match block {
            Block::Console => line.strip_prefix("$ "),
            Block::Sh => Some(line).filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')),
            Block::None => None,
        };
        if let Some(command) = command {
            let (command, comment) = command.split_once(" #").unwrap_or((command, ""));
            found.push((command.trim().to_string(), comment.trim().to_string()));
        }
    }
    found
}

/// The text of the section under `## title`, up to the next `## `.
fn section<'a>(markdown: &'a str, title: &str) -> &'a str {
    let start = markdown.find(&format!("\n## {title}")).unwrap_or_else(|| panic!("README has no `## {title}`"));
    let rest = &markdown[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

/// What a shell script runs: its lines without comments and blank lines.
fn script_commands(script: &str) -> Vec<&str> {
    script.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

#[test]
fn try_it_shows_the_demo_and_the_test_command_in_a_code_block() {
    let readme = read("README.md");
    let commands = console_commands(section(&readme, "Try it"));
    let names: Vec<&str> = commands.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, ["scripts/demo", "scripts/test"], "the Try it block changed: {commands:?}");
    for (script, _) in &commands {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
        assert!(path.is_file(), "README shows {script}, which does not exist");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert!(path.metadata().unwrap().permissions().mode() & 0o111 != 0, "{script} is not executable");
        }
    }
}

#[test]
fn ci_runs_the_script_the_readme_shows_as_the_test_command() {
    let readme = read("README.md");
    // The test command is the one the README says CI runs.
    let (test_command, _) = console_commands(section(&readme, "Try it"))
        .into_iter()
        .find(|(_, comment)| comment.contains("CI runs"))
        .expect("no command in Try it says it is what CI runs");
    let ci = read(".ci/run");
    let runs = script_commands(&ci);
    assert!(
        runs.iter().any(|line| line.split_whitespace().any(|word| word == test_command)),
        ".ci/run does not run `{test_command}`, the README's test command:\n{ci}"
    );
    assert!(
        readme.contains(&format!("CI runs `.ci/run`, which is `{test_command}`")),
        "README no longer says what CI runs"
    );
}

#[test]
fn install_asks_for_the_rust_version_cargo_toml_declares() {
    let manifest = read("Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("Cargo.toml declares no rust-version")
        .trim_matches('"');
    let readme = read("README.md");
    let install = section(&readme, "Install");
    assert!(install.contains(&format!("Rust {version} or newer")), "Install does not ask for Rust {version}");
    let commands: Vec<String> = console_commands(install).into_iter().map(|(c, _)| c).collect();
    assert!(commands.iter().any(|c| c == "cargo install --locked --path ."), "{commands:?}");
    assert!(commands.iter().any(|c| c.starts_with("cargo install --locked --git ")), "{commands:?}");
}

#[test]
fn install_shows_the_hook_line_rolesh_gives_for_every_shell() {
    use rolesh::shell::{Shell, init};
    let readme = read("README.md");
    // Markdown tables escape `|`.
    let install = section(&readme, "Install").replace("\\|", "|");
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Pwsh] {
        let (line, file) = init::setup_line(shell);
        assert!(install.contains(&format!("`{line}`")), "Install lacks the {} hook line {line}", shell.name());
        assert!(install.contains(&format!("`{file}`")), "Install lacks {file}");
    }
}
