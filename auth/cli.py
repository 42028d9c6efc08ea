"""``python app.py user add|list|remove|passwd|role|disable|enable``: dashboard users.

Changing a user's password or role, and disabling them, ends their open sessions.

Passwords come from a prompt (asked twice) or, for scripts, from the first
line of standard input with ``--password-stdin``; they never appear in the
command line or the shell history.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable
from datetime import datetime, timezone

from auth.passwords import PasswordError, check_new_password, hash_password
from data.db import Database
from data.users import ROLES, UserExists, add_user, list_users, remove_user, set_disabled, set_password, set_role
from settings import Settings

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")


class CliError(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser, add_settings: Callable[[argparse.ArgumentParser], None]) -> None:
    sub = parser.add_subparsers(
        dest="user_command", required=True, metavar="{add,list,remove,passwd,role,disable,enable}"
    )
    add = sub.add_parser("add", help="Add a user.")
    add.add_argument("user_name", metavar="NAME")
    add.add_argument(
        "--role",
        dest="user_role",
        choices=ROLES,
        default="viewer",
        help="viewer reads; admin also manages (default: viewer)",
    )
    add.add_argument(
        "--password-stdin",
        dest="user_password_stdin",
        action="store_true",
        help="Read the password from standard input.",
    )
    add_settings(add)
    add_settings(sub.add_parser("list", help="List the users."))
    for name, text in (
        ("remove", "Remove a user."),
        ("disable", "Stop a user from signing in (their open sessions end)."),
        ("enable", "Let a disabled user sign in again."),
    ):
        leaf = sub.add_parser(name, help=text)
        leaf.add_argument("user_name", metavar="NAME")
        add_settings(leaf)
    passwd = sub.add_parser("passwd", help="Set a user's password (their open sessions end).")
    passwd.add_argument("user_name", metavar="NAME")
    passwd.add_argument(
        "--password-stdin",
        dest="user_password_stdin",
        action="store_true",
        help="Read the password from standard input.",
    )
    add_settings(passwd)
    role = sub.add_parser("role", help="Change a user's role (their open sessions end).")
    role.add_argument("user_name", metavar="NAME")
    role.add_argument("user_role", metavar="ROLE", choices=ROLES, help="viewer or admin")
    add_settings(role)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise CliError("no terminal to ask for the password on; pipe it in with --password-stdin")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Same password again: ") != password:
            raise CliError("the two passwords differ")
    try:
        return check_new_password(password)
    except PasswordError as exc:
        raise CliError(str(exc)) from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url, synchronous=settings.sqlite_synchronous)
    try:
        db.migrate()
        return _run(args, db)
    except CliError as exc:
        print(f"pulseboard: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()


def _run(args: argparse.Namespace, db: Database) -> int:
    command = args.user_command
    if command == "list":
        with db.read() as conn:
            users = list_users(conn)
        if not users:
            print("no users yet; add one with: python app.py user add NAME --role admin")
        for user in users:
            state = "  (disabled)" if user["disabled"] else ""
            print(f"{user['username']:<30} {user['role']:<7} added {user['created_at']:%Y-%m-%d %H:%M} UTC{state}")
        return 0
    name = args.user_name
    if command == "add":
        if not USERNAME.fullmatch(name):
            raise CliError("a user name is 1 to 100 letters, digits and _ . @ - (starting with a letter or digit)")
        password_hash = hash_password(read_password(args.user_password_stdin))
        try:
            with db.write() as conn:
                add_user(
                    conn,
                    username=name,
                    password_hash=password_hash,
                    role=args.user_role,
                    now=datetime.now(timezone.utc),
                )
        except UserExists as exc:
            raise CliError(str(exc)) from None
        print(f"added {name} ({args.user_role})")
        return 0
    if command == "passwd":
        password_hash = hash_password(read_password(args.user_password_stdin))
        with db.write() as conn:
            found = set_password(conn, name, password_hash)
        done = "password changed"
    elif command == "role":
        with db.write() as conn:
            found = set_role(conn, name, args.user_role)
        done = f"role changed to {args.user_role}"
    elif command == "remove":
        with db.write() as conn:
            found = remove_user(conn, name)
        done = "removed"
    else:
        with db.write() as conn:
            found = set_disabled(conn, name, command == "disable")
        done = f"{command}d"
    if not found:
        raise CliError(f"no user {name!r}; see python app.py user list")
    print(f"{name}: {done}")
    return 0
