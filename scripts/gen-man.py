#!/usr/bin/python3
"""Writes the man page (section 1, roff) of a cheesechain program from what
the program itself prints for --help and --version, so that the page says
exactly what the program does (docs/install.md). The few sections --help
has no room for (files, signals, exit status of the daemons, see also) are
written here.

    scripts/gen-man.py build/release/cheesed > cheesed.1
    scripts/gen-man.py build/release/cheesed -o cheesed.1
"""
import argparse
import datetime
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helptext  # noqa: E402

PROGRAMS = ("cheesed", "cheese-cli", "cheese-tracker", "cheese-devnet")

SIGNALS_DAEMON = [
    ("SIGTERM, SIGINT", "shut down cleanly and exit with status 0."),
    ("SIGHUP", "open the \\-\\-log\\-file again, after a log rotation "
               "(the file is moved away first); nothing else stops."),
]
EXIT_DAEMON = ("0 after a clean shutdown (SIGTERM or SIGINT), 1 when it could not "
               "start (a port in use, an unusable file), 2 for a usage error.")

# Sections --help has no room for: (title, [(term, text)] or text), already roff.
EXTRA = {
    "cheesed": [
        ("SIGNALS", SIGNALS_DAEMON),
        ("EXIT STATUS", EXIT_DAEMON),
        ("FILES", [
            ("\\fIDATADIR\\fR/wallet.key, \\fIDATADIR\\fR/wallet\\-rsa.key",
             "the node's private key (http network; cheese network), mode 0600."),
            ("\\fIDATADIR\\fR/chain.sqlite",
             "blocks, best chain, balances and mempool."),
            ("\\fIDATADIR\\fR/api.token",
             "the JSON API's token, mode 0600 (see \\fBcheese\\-cli\\fR(1))."),
            ("\\fIDATADIR\\fR/peers\\-\\fIPORT\\fR.json",
             "the peers that answered."),
            ("/var/lib/cheesechain, /var/log/cheesechain",
             "data and log files of the node when run by the systemd units "
             "\\fBcheesed.service\\fR and \\fBcheesed@.service\\fR."),
        ]),
    ],
    "cheese-tracker": [
        ("SIGNALS", SIGNALS_DAEMON),
        ("EXIT STATUS", EXIT_DAEMON),
        ("FILES", [
            ("/var/log/cheesechain/cheese\\-tracker.log",
             "the log when run by the systemd unit \\fBcheese\\-tracker.service\\fR."),
        ]),
    ],
    "cheese-cli": [
        ("FILES", [
            ("\\fIDATADIR\\fR/api.token",
             "the node's API token, read with \\-\\-datadir \\fIDATADIR\\fR."),
        ]),
    ],
}


def esc(text):
    """Plain text as roff: backslashes and dashes escaped (\\- is what man
    shows as the '-' of an option), no line that starts a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line
                     for line in text.split("\n"))


METAVAR = re.compile(r"[A-Z][A-Z0-9_:.]*(?:-[A-Z0-9_:.]+)*(?:\.\.\.)?")


def term(text):
    """An option's, command's or usage's words: options and commands bold,
    METAVARs italic, the rest (brackets, choices) roman."""
    out = []
    leading = True  # still in a command's words ("wallet backup")
    for word in re.split(r"(\s+)", text):
        if not word.strip():
            out.append(word)
            continue
        leading = leading and bool(helptext.COMMAND_WORD.fullmatch(word))
        if leading:
            out.append(f"\\fB{esc(word)}\\fR")
            continue
        pieces = re.split(r"([\[\]|=]|\.\.\.$)", word)
        rendered = ""
        for piece in pieces:
            if not piece:
                continue
            if METAVAR.fullmatch(piece):
                rendered += f"\\fI{esc(piece)}\\fR"
            elif piece.startswith("-"):
                rendered += f"\\fB{esc(piece)}\\fR"
            else:
                rendered += esc(piece)
        out.append(rendered)
    return "".join(out)


def section_title(text):
    return '"' + text.upper().replace('"', "") + '"' if " " in text else text.upper()


def man_page(help_, version, date):
    prog = help_.prog
    out = [f'.TH {prog.upper()} 1 "{date}" "cheesechain {version}" "User Commands"',
           # Terms, keys and paths read badly split at a line's end, and
           # spread out to fill one.
           ".nh",
           ".ad l",
           ".SH NAME",
           f"{esc(prog)} \\- {esc(help_.summary())}",
           ".SH SYNOPSIS"]
    for i, form in enumerate(help_.synopsis):
        if i:
            out.append(".br")
        out.append(f"\\fB{esc(prog)}\\fR {term(form)}")
    if help_.description:
        out.append(".SH DESCRIPTION")
        for i, paragraph in enumerate(help_.description):
            if i:
                out.append(".PP")
            out.append(esc(paragraph))
    options_started = False
    for group in help_.groups:
        if group.is_options:
            if not options_started:
                out.append(".SH OPTIONS")
                options_started = True
            if group.heading:
                out.append(f".SS {esc(group.heading[:1].upper() + group.heading[1:])}")
        else:
            out.append(f".SH {section_title(group.heading or 'commands')}")
        for item in group.items:
            if isinstance(item, str):
                out += [".PP", esc(item)]
            else:
                out += [".TP", term(item.term), esc(item.text)]
    for label, text in help_.sections:
        out += [f".SH {section_title(label)}", esc(text)]
    for title, body in EXTRA.get(prog, []):
        out.append(f".SH {section_title(title)}")
        if isinstance(body, str):
            out.append(body)
        else:
            for tag, text in body:
                out += [".TP", tag, text]
    others = [p for p in PROGRAMS if p != prog]
    out += [".SH SEE ALSO",
            ",\n".join(f".BR {esc(p)} (1)" for p in others),
            ".PP",
            "The documentation in the docs/ folder of cheesechain's source, "
            "docs/install.md for the systemd units."]
    return "\n".join(out) + "\n"


def build_date():
    """SOURCE_DATE_EPOCH when set, so that a packager's build is reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    return when.strftime("%Y-%m-%d")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("program", help="path of the program to run")
    parser.add_argument("-o", "--output", help="the page's file (default: stdout)")
    args = parser.parse_args()
    help_, version = helptext.read(args.program)
    page = man_page(help_, version, build_date())
    helptext.write_out(page, args.output)


if __name__ == "__main__":
    main()
