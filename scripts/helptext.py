"""Reads a program's `--help` text into parts, for scripts/gen-man.py and
scripts/gen-completion.py: the man page and the bash completion are made
from the very text the program prints, so neither can drift from it.

The help texts of cheesechain's programs share one layout, which is what
this parser knows:

    usage: PROG ...                      synopsis; an indented line that starts
           PROG ...                      with PROG is another form, any other
                     [...]               indented line continues the one before
    <blank>
    Text at the left margin.             description, until the first entry
      --option ARG   what it does        an entry: two spaces, a term, two or
                     more of it          more spaces, its text; deeper lines
                                         continue the text
    heading:                             a line at the margin ending in ':'
      command ARGS   what it does        starts a group of entries of its own
    label: text                          a paragraph after the entries that
                                         starts with a lowercase label and ':'
                                         is a section of its own (exit status)

Anything else at the margin after the entries is a paragraph of the group
it stands in.
"""
import os
import re
import subprocess
import sys

ENTRY = re.compile(r"^  (\S.*?)(?:\s{2,}(\S.*))?$")
# An option's term is the option and at most one argument (a METAVAR or
# choices such as yes|no); with it, a term that fills its column and leaves
# one space before the text is still told from the text.
OPTION = re.compile(r"^  (--?[\w-]+(?: (?:[A-Z][\w:.|-]*|[a-z0-9]+(?:\|[a-z0-9]+)+))?)"
                    r"(?:\s+(\S.*))?$")
COMMAND_WORD = re.compile(r"[a-z][a-z0-9-]*")
LABELLED = re.compile(r"^([a-z][a-z ]{0,30}?):\s+(\S.*)$")


class Entry:
    def __init__(self, term, text):
        self.term = term
        self.lines = [text] if text else []

    @property
    def text(self):
        return " ".join(self.lines)

    @property
    def words(self):
        """The option, or the command's words ("wallet backup"): the term's
        first word, and for a command the lowercase words after it."""
        words = self.term.split()
        n = 1
        if not self.is_option:
            while n < len(words) and COMMAND_WORD.fullmatch(words[n]):
                n += 1
        return words[:n]

    @property
    def name(self):
        return " ".join(self.words)

    @property
    def arg(self):
        """What follows the name in the term ('' for a flag)."""
        return " ".join(self.term.split()[len(self.words):])

    @property
    def is_option(self):
        return self.term.startswith("-")


class Group:
    """Entries under one heading (None: the options before any heading),
    with the paragraphs that stand among them."""

    def __init__(self, heading):
        self.heading = heading
        self.items = []  # Entry or str (a paragraph)

    @property
    def entries(self):
        return [i for i in self.items if isinstance(i, Entry)]

    @property
    def is_options(self):
        entries = self.entries
        return bool(entries) and all(e.is_option for e in entries)


class Help:
    def __init__(self, prog):
        self.prog = prog
        self.synopsis = []     # one string per usage form, PROG left out
        self.description = []  # paragraphs
        self.groups = []       # Group
        self.sections = []     # (label, paragraph) after the entries

    def options(self):
        return [e for g in self.groups if g.is_options for e in g.entries]

    def commands(self):
        return [e for g in self.groups if not g.is_options for e in g.entries]

    def summary(self):
        """The description's first clause, for the man page's NAME line:
        up to the first ':', ',', ';' or sentence end outside parentheses."""
        text = self.description[0] if self.description else self.prog
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            end = i + 1 == len(text) or text[i + 1] == " "
            if depth == 0 and ch in ":,;." and end:
                text = text[:i]
                break
        text = text.rstrip(".")
        return text[:1].lower() + text[1:]


def parse(prog, text):
    """prog: the program's name; text: what `prog --help` printed."""
    help_ = Help(prog)
    lines = text.expandtabs().rstrip("\n").split("\n")
    i = 0
    if lines and lines[0].startswith("usage:"):
        help_.synopsis.append(lines[0][len("usage:"):].strip())
        i = 1
        while i < len(lines) and lines[i].startswith(" ") and lines[i].strip():
            line = lines[i].strip()
            if line.split()[0] == prog:
                help_.synopsis.append(line)
            else:
                help_.synopsis[-1] += " " + line
            i += 1
    help_.synopsis = [s[len(prog):].strip() if s.split()[0] == prog else s
                      for s in help_.synopsis]

    group = None
    paragraph = None  # the list of lines being gathered, wherever it goes
    entry = None
    for line in lines[i:]:
        if not line.strip():
            paragraph = entry = None
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            entry = None
            if paragraph is not None:
                paragraph.append(line)
                continue
            labelled = LABELLED.match(line)
            # A heading stands alone: "exit status: ... failed:" is a
            # labelled paragraph whose line happens to end in ':'.
            if line.endswith(":") and not labelled:
                group = Group(line[:-1])
                help_.groups.append(group)
                continue
            paragraph = [line]
            if group is None:
                help_.description.append(paragraph)
            elif labelled:
                paragraph[0] = labelled.group(2)
                help_.sections.append((labelled.group(1), paragraph))
            else:
                group.items.append(paragraph)
            continue
        paragraph = None
        match = OPTION.match(line) or ENTRY.match(line)
        if indent == 2 and match:
            if group is None:
                group = Group(None)
                help_.groups.append(group)
            entry = Entry(match.group(1), match.group(2))
            group.items.append(entry)
        elif entry is not None:
            entry.lines.append(line.strip())
        else:
            # An indented line with nothing to continue: keep it as text
            # rather than lose it.
            paragraph = [line.strip()]
            (group.items if group else help_.description).append(paragraph)
    join = " ".join
    help_.description = [join(p) for p in help_.description]
    help_.sections = [(label, join(p)) for label, p in help_.sections]
    for g in help_.groups:
        g.items = [join(x) if isinstance(x, list) else x for x in g.items]
    return help_


def run(path, *args):
    """What the program at path prints for args; fails when it fails."""
    done = subprocess.run([path, *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise SystemExit(f"{path} {' '.join(args)}: exit status {done.returncode}\n"
                         f"{done.stderr}")
    return done.stdout


def read(path):
    """Help and version of the program at path: (Help, version string)."""
    prog = os.path.basename(path)
    version = run(path, "--version").strip()
    # "cheesed 0.1.0": the version is the last word
    return parse(prog, run(path, "--help")), version.split()[-1] if version else ""


def write_out(text, path=None):
    """Writes a generated file to path, or to stdout without one."""
    if path:
        with open(path, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
