"""`make install` (scripts/install.py, docs/install.md): the programs of
$CHEESE_BUILD installed into a temporary PREFIX, as a user finds them there:
each runs, each has a man page that renders cleanly and says what its --help
says, the systemd units verify and start the installed programs with flags
they have, the bash completion offers the options and commands of --help,
DESTDIR stages the lot, and uninstall takes away exactly what install put.

What --help lists is read here with a few regular expressions of its own,
not with scripts/helptext.py, so that a change to the help text that the
generators misread fails here.
"""
import functools
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INSTALL = os.path.join(ROOT, "scripts", "install.py")
PROGRAMS = ("cheesed", "cheese-cli", "cheese-tracker", "cheese-devnet")
UNITS = ("cheesed.service", "cheesed@.service", "cheese-tracker.service")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def install_py(*args):
    done = run(["/usr/bin/python3", INSTALL, *args])
    assert done.returncode == 0, done.stderr
    return done


def our_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, names in os.walk(root) for f in names)


@functools.lru_cache(maxsize=None)
def help_text(prog):
    done = run([os.path.join(BUILD, prog), "--help"])
    assert done.returncode == 0, done.stderr
    return done.stdout


def help_options(prog):
    """Every option --help lists: the first word of an entry that starts
    two spaces in."""
    return re.findall(r"^  (--[a-z][a-z-]*)", help_text(prog), re.M)


def help_terms(prog):
    """Each option of --help with its argument, if it takes one."""
    return [" ".join(filter(None, m)) for m in
            re.findall(r"^  (--[a-z][a-z-]*)(?: (\S+))?", help_text(prog), re.M)]


def help_commands(prog):
    """The commands under a 'commands:' heading, each its lowercase words
    ("info", "wallet backup")."""
    text = help_text(prog)
    if "\ncommands:\n" not in text:
        return []
    block = text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^  ([a-z][a-z-]*(?: [a-z][a-z-]*)*)(?!\S)", block, re.M)


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("install") / "usr")
    install_py("install", "--build", BUILD, "--prefix", prefix)
    return prefix


# ---- the programs -----------------------------------------------------------------

@pytest.mark.parametrize("prog", PROGRAMS)
def test_program_lands_in_bin_and_runs(prefix, prog):
    path = os.path.join(prefix, "bin", prog)
    assert os.stat(path).st_mode & 0o777 == 0o755
    done = run([path, "--version"])
    assert done.returncode == 0, done.stderr
    built = run([os.path.join(BUILD, prog), "--version"]).stdout
    assert done.stdout == built and re.fullmatch(rf"{prog} \d+\.\d+\.\d+\n", done.stdout)


# ---- man pages ------------------------------------------------------------------------

def man_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MANPATH", "MAN_KEEP_FORMATTING", "MANOPT")}
    env.update(LC_ALL="C.UTF-8", MANWIDTH="80", MANPAGER="cat", PAGER="cat", **extra)
    return env


def rendered(page):
    """The page as `man` shows it, failing on any warning of man or groff."""
    done = run(["man", "--warnings=all", "-l", page], env=man_env())
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def section(text, title):
    """The lines of one section of a rendered page: from its heading to the
    next line that starts at the margin."""
    lines = text.split("\n")
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1].isalpha()),
               len(lines))
    return lines[start + 1:end]


def words(text):
    return " ".join(text.split()).lower()


@pytest.mark.skipif(not shutil.which("man"), reason="man is not installed")
@pytest.mark.parametrize("prog", PROGRAMS)
def test_man_page_renders_cleanly_and_holds_every_option(prefix, prog):
    page = os.path.join(prefix, "share", "man", "man1", prog + ".1")
    text = rendered(page)
    if shutil.which("groff"):
        done = run(["groff", "-man", "-ww", "-z", "-Tutf8", page], env=man_env())
        assert done.stderr == "", done.stderr
    for title in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SEE ALSO"):
        assert title in text.split("\n"), f"{prog}.1 has no {title}:\n{text}"
    assert re.search(rf"^ +{re.escape(prog)} - \w", text, re.M), text
    version = run([os.path.join(BUILD, prog), "--version"]).stdout.split()[-1]
    assert f"cheesechain {version}" in text
    # Every option of --help is an entry of OPTIONS: its tag is the option and
    # its argument alone, the text beside it (short tags) or below it.
    options = section(text, "OPTIONS")
    terms = help_terms(prog)
    assert len(terms) >= 5
    for term in terms:
        assert any(line == " " * 7 + term
                   or (len(term) < 7 and line[7:14] == term.ljust(7) and line[14:15].strip())
                   for line in options), f"{prog}.1 has no entry {term!r}:\n{text}"
    listed = section(text, "COMMANDS") if help_commands(prog) else []
    for command in help_commands(prog):
        assert any(re.match(rf" {{7}}{command}(?!\S)", line) for line in listed), command
    # ...and every word of --help is on the page, in the same order within
    # each column of a line: the page says all that the program says.
    page_words = words(text)
    for line in help_text(prog).split("\n"):
        line = re.sub(r"^usage:|^exit status:", "", line)
        if re.fullmatch(r"[a-z][^:]*:", line):
            line = line[:-1]  # a heading: the page's own heading stands for it
        for piece in re.split(r"\s{2,}", line.strip()):
            assert words(piece) in page_words, f"{prog}.1 lacks {piece!r}"


@pytest.mark.skipif(not shutil.which("man"), reason="man is not installed")
def test_man_finds_the_pages_beside_the_programs_on_path(prefix):
    env = man_env(PATH=os.path.join(prefix, "bin") + os.pathsep + os.environ["PATH"])
    for prog in PROGRAMS:
        done = run(["man", "-w", prog], env=env)
        assert done.stdout.strip() == os.path.join(prefix, "share", "man", "man1", prog + ".1")


# ---- systemd units ----------------------------------------------------------------------

def unit_lines(prefix, unit):
    with open(os.path.join(prefix, "lib", "systemd", "system", unit)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def setting(lines, key):
    return [line.split("=", 1)[1] for line in lines if line.startswith(key + "=")]


@pytest.mark.parametrize("unit", UNITS)
def test_unit_starts_the_installed_program_with_its_own_flags(prefix, unit):
    lines = unit_lines(prefix, unit)
    [exec_start] = setting(lines, "ExecStart")
    program = exec_start.split()[0]
    assert program == os.path.join(prefix, "bin", os.path.basename(program))
    assert os.access(program, os.X_OK)
    flags = re.findall(r"(?<!\S)(--[a-z][a-z-]*)", exec_start)
    assert flags and set(flags) <= set(help_options(os.path.basename(program))), flags
    assert setting(lines, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert setting(lines, "Restart") == ["on-failure"]
    for key, value in (("User", "cheesechain"), ("DynamicUser", "yes"),
                       ("LogsDirectory", "cheesechain"), ("NoNewPrivileges", "yes"),
                       ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes")):
        assert setting(lines, key) == [value], (unit, key)
    if "--datadir" in flags:
        assert setting(lines, "StateDirectory") == ["cheesechain"]
        assert "%S/cheesechain/" in exec_start
    assert "--log-file %L/cheesechain/" in exec_start


@pytest.mark.skipif(not shutil.which("systemd-analyze"),
                    reason="systemd-analyze is not installed: the units are not verified")
def test_units_verify(prefix):
    unitdir = os.path.join(prefix, "lib", "systemd", "system")
    # MANPATH: verify also runs `man` on each Documentation=man:... page.
    done = run(["systemd-analyze", "verify", *(os.path.join(unitdir, u) for u in UNITS)],
               env=dict(os.environ, MANPATH=os.path.join(prefix, "share", "man")))
    assert done.returncode == 0, done.stderr
    # a key it ignores (unknown, or a bad value) is only a warning
    assert not [line for line in done.stderr.splitlines() if "chees" in line], done.stderr


# ---- bash completion ---------------------------------------------------------------------

def complete(prefix, prog, *typed):
    """What completing the last word of `prog typed...` offers, with the
    installed file sourced in a bare bash (no bash-completion package)."""
    script = r'''
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
spec=$(complete -p "$1") || exit 3
fn=${spec#*-F }; fn=${fn%% *}
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''
    path = os.path.join(prefix, "share", "bash-completion", "completions", prog)
    done = run(["bash", "--norc", "--noprofile", "-c", script, "bash", path, prog, *typed])
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [w for w in done.stdout.split("\n") if w]


@pytest.mark.parametrize("prog", PROGRAMS)
def test_completion_offers_every_option(prefix, prog):
    assert sorted(complete(prefix, prog, "--")) == sorted(help_options(prog))


def test_completion_offers_cheese_cli_commands(prefix):
    commands = help_commands("cheese-cli")
    assert len(commands) >= 8 and "info" in commands
    first_words = {c.split()[0] for c in commands}
    assert sorted(complete(prefix, "cheese-cli", "")) == sorted(first_words)
    # a command of two words: its second word follows the first
    for command in commands:
        if " " in command:
            group, second = command.split()
            assert second in complete(prefix, "cheese-cli", group, ""), command
    assert sorted(complete(prefix, "cheese-cli", "--node", "6001", "--json", "m")) == \
        ["mempool", "mine"]
    assert "--wait" in complete(prefix, "cheese-cli", "mine", "--w")


def test_completion_offers_values(prefix, tmp_path):
    assert complete(prefix, "cheesed", "--data") == ["--datadir"]
    assert sorted(complete(prefix, "cheesed", "--network", "")) == ["cheese", "http"]
    assert sorted(complete(prefix, "cheesed", "--log-level", "=", "")) == \
        ["debug", "error", "info", "notice", "warn"]
    assert complete(prefix, "cheesed", "--port", "") == []
    (tmp_path / "node-dir").mkdir()
    (tmp_path / "node-file").write_text("")
    assert complete(prefix, "cheesed", "--datadir", str(tmp_path / "node")) == \
        [str(tmp_path / "node-dir")]
    # cheese-devnet hands the words after -- to every cheesed
    assert complete(prefix, "cheese-devnet", "--nodes", "3", "--", "--data") == ["--datadir"]


# ---- DESTDIR, uninstall, make ------------------------------------------------------------

def test_destdir_stages_and_uninstall_removes_exactly_what_was_installed(tmp_path):
    stage = str(tmp_path / "stage")
    # someone else's files in the same folders
    others = ["usr/bin/other-tool", "usr/share/man/man1/other-tool.1",
              "usr/lib/systemd/system/other.service"]
    for name in others:
        os.makedirs(os.path.dirname(os.path.join(stage, name)), exist_ok=True)
        with open(os.path.join(stage, name), "w") as f:
            f.write("not ours\n")
    install_py("install", "--build", BUILD, "--prefix", "/usr", "--destdir", stage)
    ours = sorted(set(our_files(stage)) - set(others))
    assert ours == sorted(
        [f"usr/bin/{p}" for p in PROGRAMS]
        + [f"usr/share/man/man1/{p}.1" for p in PROGRAMS]
        + [f"usr/share/bash-completion/completions/{p}" for p in PROGRAMS]
        + [f"usr/lib/systemd/system/{u}" for u in UNITS])
    # the units name the programs where they will be, not where they are staged
    [exec_start] = setting(unit_lines(os.path.join(stage, "usr"), "cheesed.service"),
                           "ExecStart")
    assert exec_start.startswith("/usr/bin/cheesed ")
    install_py("uninstall", "--prefix", "/usr", "--destdir", stage)
    assert our_files(stage) == sorted(others)


def test_uninstall_empties_the_prefix_of_our_files(tmp_path):
    prefix = str(tmp_path / "prefix")
    install_py("install", "--build", BUILD, "--prefix", prefix)
    assert len(our_files(prefix)) == 4 * 3 + len(UNITS)
    install_py("uninstall", "--prefix", prefix)
    assert our_files(prefix) == []


def test_make_targets_pass_prefix_and_destdir(tmp_path):
    for target, expect in (("install", "scripts/install.py install --build build/release"),
                           ("uninstall", "scripts/install.py uninstall")):
        done = run(["make", "-n", "-C", ROOT, target, "PREFIX=/opt/cheese",
                    "DESTDIR=/tmp/stage", "UNITDIR=/etc/systemd/system"])
        assert done.returncode == 0, done.stderr
        line = next(line for line in done.stdout.splitlines() if expect in line)
        for part in ('--prefix "/opt/cheese"', '--destdir "/tmp/stage"',
                     '--bindir "/opt/cheese/bin"', '--unitdir "/etc/systemd/system"'):
            assert part in line, line
