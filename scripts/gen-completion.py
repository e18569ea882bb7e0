#!/usr/bin/python3
"""Writes the bash completion of a cheesechain program from what the program
prints for --help, so that it offers exactly the program's options (and
cheese-cli's commands) and cannot drift from them (docs/install.md).

    scripts/gen-completion.py build/release/cheese-cli > cheese-cli

What a value is completed with comes from the help text too: choices written
as `yes|no` or described as `http or cheese (http)`, directories for a DIR,
files for a FILE (or F). A synopsis that ends in `-- NAME-OPTIONS` hands the
words after `--` to the completion of the program NAME beside this one
(cheese-devnet passes them to every cheesed).

The script is plain bash: no bash-completion helpers, so that it works
sourced on its own, and under bash-completion's loader alike.
"""
import argparse
import os
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helptext  # noqa: E402

CHOICES_TEXT = re.compile(r"^([a-z0-9]+(?:, [a-z0-9]+)*) or ([a-z0-9]+)(?: \([^)]*\))?$")
PASS_THROUGH = re.compile(r"\[?-- ([A-Z][A-Z0-9]*)-OPTIONS")


def function_name(prog):
    return "_cheesechain_" + re.sub(r"\W", "_", prog)


def value_kind(entry):
    """How an option's value is completed: ('words', [...]), ('dirs',),
    ('files',) or ('none',) for a value nothing can be offered for."""
    arg = entry.arg
    if re.fullmatch(r"[a-z0-9]+(?:\|[a-z0-9]+)+", arg):
        return ("words", tuple(arg.split("|")))
    listed = CHOICES_TEXT.match(entry.text)
    if listed:
        return ("words", (*listed.group(1).split(", "), listed.group(2)))
    if arg == "DIR" or arg.endswith("DIR"):
        return ("dirs",)
    if arg in ("F", "FILE") or arg.endswith("FILE"):
        return ("files",)
    return ("none",)


def q(words):
    return shlex.quote(" ".join(words))


def function(help_):
    """The completion function of one program, as bash text."""
    name = function_name(help_.prog)
    options = help_.options()
    with_value = [e for e in options if e.arg]
    commands = help_.commands()
    out = [f"{name}()", "{",
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev= opt= i w",
           "    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}"]
    pass_through = passes_to(help_)
    if pass_through:
        target = function_name(pass_through)
        out += [
            f"    # The words after -- are {pass_through}'s.",
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            "        if [[ ${COMP_WORDS[i]} == -- ]]; then",
            "            local -a words=(\"${COMP_WORDS[@]:i+1}\")",
            "            local cword=$((COMP_CWORD - i))",
            f"            local -a COMP_WORDS=({pass_through} \"${{words[@]}}\")",
            "            local COMP_CWORD=$cword",
            f"            {target} {pass_through} \"$cur\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"",
            "            return",
            "        fi",
            "    done"]
    out += [
        "    # bash splits --option=value into three words at the '='.",
        "    if [[ $cur == = ]]; then",
        "        opt=$prev cur=",
        "    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then",
        "        opt=${COMP_WORDS[COMP_CWORD-2]}",
        "    else",
        "        opt=$prev",
        "    fi",
        "    case $opt in"]
    by_kind = {}
    for e in with_value:
        by_kind.setdefault(value_kind(e), []).append(e.name)
    for kind, names in by_kind.items():
        pattern = "|".join(names)
        if kind[0] == "words":
            action = f"COMPREPLY=($(compgen -W {q(kind[1])} -- \"$cur\"))"
        elif kind[0] == "dirs":
            action = "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))"
        elif kind[0] == "files":
            action = "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))"
        else:
            action = "# a number or an address: nothing to offer, and no file either"
        out += [f"    {pattern})", f"        {action}", "        return ;;"]
    out.append("    esac")
    all_options = f"COMPREPLY=($(compgen -W {q(e.name for e in options)} -- \"$cur\"))"
    if not commands:
        # Nothing but options is ever right here.
        out += [f"    {all_options}", "}"]
        return "\n".join(out)
    out += ["    if [[ $cur == -* ]]; then",
            f"        {all_options}",
            "        return",
            "    fi"]
    # A command of two words ("wallet backup") makes its first a group,
    # whose second word is completed after it.
    groups = {}
    for c in commands:
        if len(c.words) > 1:
            groups.setdefault(c.words[0], []).append(c.words[1])
    out += ["    # The command is the first word that is neither an option nor its",
            "    # value, and the next one too when the first is a group.",
            "    local command= args=0",
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            "        w=${COMP_WORDS[i]}",
            "        case $w in"]
    if with_value:
        out += [f"        {'|'.join(e.name for e in with_value)})",
                "            [[ ${COMP_WORDS[i+1]} == = ]] && ((i++))",
                "            ((i++)) ;;"]
    out += ["        -*|=) ;;",
            "        *)",
            "            if [[ -z $command ]]; then",
            "                command=$w"]
    if groups:
        out += [f"            elif [[ {q(['', *groups, ''])} == *\" $command \"* ]]; then",
                "                command=\"$command $w\""]
    out += ["            else",
            "                ((args++))",
            "            fi ;;",
            "        esac",
            "    done",
            "    case $command in",
            "    '')",
            f"        COMPREPLY=($(compgen -W {q(dict.fromkeys(c.words[0] for c in commands))}"
            " -- \"$cur\")) ;;"]
    for group, subcommands in groups.items():
        out += [f"    {group})",
                f"        COMPREPLY=($(compgen -W {q(subcommands)} -- \"$cur\")) ;;"]
    # Arguments that are files, by position: export [FILE], key import FILE|-
    by_position = {}
    for c in commands:
        for position, arg in enumerate(c.arg.split()):
            if {"FILE", "F"} & set(arg.strip("[]").split("|")):
                by_position.setdefault(position, []).append(c.name)
    for position, names in sorted(by_position.items()):
        pattern = "|".join(shlex.quote(n) for n in names)
        out += [f"    {pattern})",
                f"        ((args == {position})) || return",
                "        compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;"]
    out.append("    esac")
    out.append("}")
    return "\n".join(out)


def passes_to(help_):
    """The program whose options follow `--` ('cheesed' for `-- CHEESED-OPTIONS`)."""
    for form in help_.synopsis:
        match = PASS_THROUGH.search(form)
        if match:
            return match.group(1).lower()
    return None


def completion(path):
    help_, version = helptext.read(path)
    prog = help_.prog
    parts = [f"# bash completion for {prog} (cheesechain {version}), made from",
             f"# `{prog} --help` by scripts/gen-completion.py at install time: a change",
             "# belongs in the program's help text, not here.", ""]
    other = passes_to(help_)
    if other:
        # The other program's function comes along, so that this file works
        # whether or not the other's completion has been loaded.
        other_help, _ = helptext.read(os.path.join(os.path.dirname(path), other))
        parts += [function(other_help), ""]
    parts += [function(help_), f"complete -F {function_name(prog)} {prog}", ""]
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("program", help="path of the program to run")
    parser.add_argument("-o", "--output", help="the completion file (default: stdout)")
    args = parser.parse_args()
    text = completion(args.program)
    helptext.write_out(text, args.output)


if __name__ == "__main__":
    main()
